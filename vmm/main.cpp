// kvrun-vmm: boots one microVM. Guest console on stdout, logs on stderr, and an exit status
// that tells how the VM ended (see docs/ARCHITECTURE.md).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdint>
#include <exception>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "common/error.h"
#include "vmm/vmm.h"

namespace {

const std::map<std::string, spdlog::level::level_enum> kLogLevels = {
    {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},   {"error", spdlog::level::err},
};

}  // namespace

int main(int argc, char** argv) {
  // Started as PID 1 of its own PID namespace (as kvrun does), kvrun-vmm would simply not get
  // a SIGTERM or SIGINT that arrives before its signal handling is set up: blocked, they wait
  // for it instead.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);

  kvrun::vmm::VmConfig config;
  std::string kernel;
  std::string initrd;
  uint32_t timeout_s = 0;
  std::string log_level = "warn";
  bool no_jail = false;

  CLI::App app{"Boots one KVM microVM; guest serial console on stdout.", "kvrun-vmm"};
  app.add_option("--kernel", kernel, "guest kernel: ELF vmlinux or bzImage")->required();
  app.add_option("--initrd", initrd, "initramfs image");
  app.add_option("--cmdline", config.cmdline, "kernel command line")->capture_default_str();
  app.add_option("--memory", config.memory_mib, "guest memory in MiB")->capture_default_str();
  app.add_option("--cpus", config.vcpus, "number of vCPUs")->capture_default_str();
  app.add_option("--timeout", timeout_s, "stop the guest after this many seconds (status 124)");
  std::vector<std::string> disks;
  app.add_option("--disk", disks,
                 "virtio-blk disk: raw image PATH[,ro] (repeatable: vda, vdb, ...)");
  std::vector<std::string> nets;
  app.add_option("--net", nets,
                 "virtio-net on a tap: tap=NAME[,netns=PATH][,mac=xx:xx:xx:xx:xx:xx] "
                 "(repeatable: eth0, eth1, ...)");
  app.add_option("--disk-slots", config.virtio.disk_slots,
                 "empty read-only virtio-blk drives after the --disk ones, filled and emptied "
                 "through --control-socket while the guest runs");
  std::string control_socket;
  app.add_option("--control-socket", control_socket,
                 "Unix socket PATH (created, mode 0600) taking ATTACH-DISK / DETACH-DISK "
                 "requests (docs/vmm-control.md)");
  app.add_option("--console-rate", config.console.bytes_per_second,
                 "guest console output allowed per second, in bytes (0: no limit); bytes over "
                 "it are dropped and counted in a marker line")
      ->capture_default_str();
  app.add_option("--console-burst", config.console.burst_bytes,
                 "guest console output allowed at once above --console-rate, in bytes")
      ->capture_default_str();
  app.add_flag("--rng", config.virtio.rng, "virtio-rng entropy device");
  std::string vsock;
  app.add_option("--vsock", vsock,
                 "virtio-vsock: cid=N,uds=PATH (host clients connect to PATH and send "
                 "\"CONNECT <port>\\n\"; guest connections to port P go to PATH_P)");
  app.add_flag("--no-jail", no_jail,
               "FOR DEBUGGING ONLY: run unjailed, as root with every capability and no seccomp "
               "filter, so that a guest that breaks out of a device owns the host "
               "(docs/jail.md)");
  uid_t jail_uid = 0;
  gid_t jail_gid = 0;
  app.add_option("--jail-uid", jail_uid,
                 "uid the jailed VMM runs as (default: one of its own per VM, from "
                 "2000000000..2000065535, held by a lock under /run/kvrun-vmm/ids)");
  app.add_option("--jail-gid", jail_gid, "gid the jailed VMM runs as (default: the uid's number)");
  app.add_option("--log-level", log_level, "trace, debug, info, warn or error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
    std::cerr << "kvrun-vmm: " << e.what() << "\n";
    return 1;
  }

  auto logger = spdlog::stderr_color_mt("kvrun-vmm");
  logger->set_pattern("[%H:%M:%S.%e] [%l] %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(kLogLevels.at(log_level));

  config.kernel = kernel;
  if (!initrd.empty()) config.initrd = initrd;
  if (app.count("--timeout") > 0) config.timeout = std::chrono::seconds(timeout_s);
  config.jail.enabled = !no_jail;
  if (app.count("--jail-uid") > 0) config.jail.uid = jail_uid;
  if (app.count("--jail-gid") > 0) config.jail.gid = jail_gid;

  // A console reader that goes away must not kill the VMM: the write fails and is dropped.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    for (const std::string& disk : disks) {
      config.virtio.disks.push_back(kvrun::vmm::parse_disk_option(disk));
    }
    for (const std::string& net : nets) {
      config.virtio.nets.push_back(kvrun::vmm::net::parse_net_option(net));
    }
    if (!control_socket.empty()) config.virtio.control_socket = control_socket;
    if (!vsock.empty()) config.virtio.vsock = kvrun::vmm::vsock::parse_vsock_option(vsock);
    return kvrun::vmm::run_vm(config, std::cerr);
  } catch (const std::exception& e) {
    // kvrun::Error carries "<context>: <reason>"; anything else (e.g. out of memory) is just
    // as fatal and is reported the same way.
    std::cerr << "kvrun-vmm: " << e.what() << "\n";
    return 1;
  }
}
