// Starting the sandbox a container runs in, as a child of the monitor:
//   vm    kvrun-vmm with the guest kernel, initramfs (agent as PID 1), the rootfs image as a
//         read-only virtio-blk disk, an rng and vsock; the agent is reached through vsock
//   host  kvrun-agent as PID 1 of a new PID namespace on this host, serving a unix socket
//         (development and tests on machines without KVM; no isolation beyond namespaces)
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "shim/common/kinds.h"
#include "shim/sandbox/child_process.h"
#include "shim/sandbox/sizing.h"

namespace kvrun::sandbox {

using shim::parse_sandbox_kind;
using shim::SandboxKind;  // shim/common/kinds.h, which state.json stores too
using shim::to_string;

// The guest's network device: tap `tap` in the container's network namespace, made there by
// shim/network (vm_network.h), with the MAC of the interface it mirrors.
struct VmNetLink {
  std::filesystem::path netns;
  std::string tap;
  std::string mac;
};

struct LaunchConfig {
  SandboxKind kind = SandboxKind::kVm;
  std::filesystem::path state_dir;  // sockets and logs go here
  // Cap of the sandbox's log (vmm.log or agent.log; capped_log.h): the guest console fills it.
  uint64_t log_max_bytes = kDefaultLogMaxBytes;
  // vm only
  std::filesystem::path vmm, kernel, initrd;
  VmSize size;
  int rootfs_image_fd = -1;          // open read-only; passed to kvrun-vmm as fd 3
  std::optional<VmNetLink> network;  // none: the guest has loopback only
  // A pod's VM: empty drives for its later containers' root filesystems, and the socket that
  // fills them (vmm/control/). 0: a VM for one container.
  unsigned disk_slots = 0;
  std::filesystem::path control_socket;
  // host only
  std::filesystem::path agent;
};

struct Sandbox {
  ChildProcess process;
  std::string agent_address;  // for connect_agent()
};

Sandbox launch_sandbox(const LaunchConfig& config);

// The guest's view of the rootfs disk (first virtio-blk device).
inline constexpr const char* kGuestRootfsDevice = "/dev/vda";
inline constexpr unsigned kGuestCid = 3;

}  // namespace kvrun::sandbox
