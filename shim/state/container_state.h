// What kvrun remembers about one container between CLI invocations (state.json in its state
// directory), and the runtime-spec "state" view of it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "shim/common/kinds.h"

namespace kvrun::state {

// kCreating: the monitor is still booting the sandbox; never shown to runtime-spec callers as
// such ("creating" is a runtime-spec status too).
enum class Status { kCreating, kCreated, kRunning, kPaused, kStopped };
std::string_view to_string(Status status);

struct ContainerState {
  std::string id;
  std::filesystem::path bundle;
  std::filesystem::path rootfs;
  Status status = Status::kCreating;
  pid_t pid = 0;  // the monitor: --pid-file's PID, its exit status is the container's
  std::uint64_t pid_start_time = 0;  // from /proc/<pid>/stat, tells a reused PID apart
  pid_t vmm_pid = 0;                 // kvrun-vmm or the host agent, the monitor's child
  std::string created;               // RFC 3339 with nanoseconds, UTC
  std::map<std::string, std::string> annotations;
  shim::SandboxKind sandbox = shim::SandboxKind::kVm;  // "vm" or "host" in state.json
  std::string agent_address;           // "unix:<path>" (host agent) or "vsock:<uds path>" (VMM)
  std::filesystem::path rootfs_image;  // the cached image the VM boots with, if any
  // Pods (oci/pod.h): "sandbox" (its VM holds the pod), "member" (runs in pod_sandbox's VM) or
  // "" (a VM of its own) in state.json.
  shim::PodRole pod_role = shim::PodRole::kStandalone;
  std::string pod_sandbox;
  std::filesystem::path control_socket;  // sandbox in a VM: kvrun-vmm's (vmm/control/)
  int disk_slot = -1;                    // member in a VM: the slot its rootfs image is in
  std::optional<int> exit_status;
};

nlohmann::json to_json(const ContainerState& state);
// Throws Error naming the field if state.json is damaged.
ContainerState from_json(const nlohmann::json& json);

// The runtime-spec state object (plus runc's rootfs/created/owner, which containerd reads).
nlohmann::json oci_state(const ContainerState& state);

// Now as RFC 3339 with nanoseconds, UTC ("2026-11-23T13:14:15.123456789Z").
std::string now_rfc3339();

}  // namespace kvrun::state
