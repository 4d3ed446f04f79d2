#include "shim/sandbox/launcher.h"

#include <unistd.h>

#include "common/error.h"

namespace kvrun::sandbox {
namespace {

// The VMM's default console settings (vmm/vmm.h) plus a quiet boot and no reboot on panic
// loops; the agent finds its rootfs disk through kvrun.rootfs=.
constexpr const char* kGuestCmdline =
    "console=ttyS0 reboot=k panic=1 nomodule i8042.noaux i8042.nomux i8042.dumbkbd quiet";

Sandbox launch_vm(const LaunchConfig& config) {
  std::string vsock = (config.state_dir / "vsock.sock").string();
  std::vector<std::string> argv = {
      config.vmm.string(),
      "--kernel",
      config.kernel.string(),
      "--initrd",
      config.initrd.string(),
      "--memory",
      std::to_string(config.size.memory_mib),
      "--cpus",
      std::to_string(config.size.vcpus),
      "--cmdline",
      std::string(kGuestCmdline) + " kvrun.rootfs=" + kGuestRootfsDevice,
      "--rng",
      "--vsock",
      "cid=" + std::to_string(kGuestCid) + ",uds=" + vsock,
  };
  if (config.rootfs_image_fd >= 0) {
    argv.push_back("--disk");
    argv.push_back("/proc/self/fd/3,ro");
  }
  if (config.disk_slots > 0) {
    argv.push_back("--disk-slots");
    argv.push_back(std::to_string(config.disk_slots));
    argv.push_back("--control-socket");
    argv.push_back(config.control_socket.string());
  }
  if (config.network) {
    // The option's own syntax cannot carry these characters in a path.
    if (config.network->netns.string().find_first_of(",=") != std::string::npos)
      throw Error("network namespace " + config.network->netns.string() +
                  ": a path with ',' or '=' cannot be passed to kvrun-vmm");
    argv.push_back("--net");
    argv.push_back("tap=" + config.network->tap + ",netns=" + config.network->netns.string() +
                   ",mac=" + config.network->mac);
  }
  // The guest console and the VMM's own messages, capped (the guest decides how much it prints).
  // kvrun-vmm jails itself (docs/jail.md); a PID namespace of its own needs a fork, and this is
  // that fork: it runs as PID 1 there and sees no other process.
  ChildOptions options{config.state_dir / "vmm.log", config.rootfs_image_fd, true,
                       config.log_max_bytes};
  return Sandbox{ChildProcess(argv, options), "vsock:" + vsock};
}

Sandbox launch_host(const LaunchConfig& config) {
  std::string socket = (config.state_dir / "agent.sock").string();
  // The agent's scratch space (--state-dir) must not land in the host's /run/kvrun, where kvrun
  // keeps its own state.
  std::vector<std::string> argv = {config.agent.string(),
                                   "--listen",
                                   "unix:" + socket,
                                   "--cgroups",
                                   "best-effort",
                                   "--log-level",
                                   "warn",
                                   "--state-dir",
                                   (config.state_dir / "agent").string()};
  ChildOptions options{config.state_dir / "agent.log", -1, true, config.log_max_bytes};
  return Sandbox{ChildProcess(argv, options), "unix:" + socket};
}

}  // namespace

Sandbox launch_sandbox(const LaunchConfig& config) {
  return config.kind == SandboxKind::kVm ? launch_vm(config) : launch_host(config);
}

}  // namespace kvrun::sandbox
