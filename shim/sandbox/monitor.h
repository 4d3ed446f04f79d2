// The monitor: one host process per container, forked by `kvrun create`. Its PID is the one in
// --pid-file and its exit status is the container's, which is what podman's conmon and
// containerd's shim wait for. It owns the sandbox (kvrun-vmm or a host agent) as its child,
// creates the container through the agent, relays the container's stdio from the fds `create`
// was given, and when the container's init exits (or the VM dies) records the status, tears the
// sandbox down and exits with that status.
//
// Start, kill, exec and the rest go from the CLI straight to the agent; the monitor only learns
// of them through the init's exit. SIGTERM/SIGINT/SIGHUP to the monitor mean "tear down now"
// (delete --force): the container is killed with the sandbox and the status is 137.
//
// Pods (oci/pod.h): the pod's sandbox container brings up the sandbox as above, with the pod's
// shared namespaces (CreateSandbox) and, in a VM, empty disk slots; a member container's monitor
// brings up nothing: it puts the member's rootfs image into a slot of the sandbox's VM, creates
// the member through the sandbox's agent, and at the end removes the member and empties the slot
// instead of stopping a sandbox.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "shim/oci/bundle.h"
#include "shim/sandbox/launcher.h"

namespace kvrun::sandbox {

// Where a pod member runs: its sandbox container's agent and VM.
struct PodMember {
  std::string agent_address;
  std::filesystem::path control_socket;  // vm only
  pid_t sandbox_pid = 0;                 // the sandbox's kvrun-vmm (or host agent)
};

struct MonitorConfig {
  std::string id;
  std::filesystem::path state_dir;
  oci::Bundle bundle;
  LaunchConfig launch;
  std::filesystem::path rootfs_image;  // recorded in state.json (vm only)
  std::string console_socket;          // process.terminal: where the pty master goes ("" = fds 0/1)
  int ready_fd = -1;                   // from fork_monitor() (monitor_process.h)
  std::chrono::milliseconds boot_timeout{60000};
  bool pod_sandbox = false;         // CreateSandbox first; launch has the disk slots
  std::optional<PodMember> member;  // set: no sandbox of its own
};

// Never returns: exits the process with the container's exit status (1 when creation failed).
[[noreturn]] void run_monitor(MonitorConfig config);

}  // namespace kvrun::sandbox
