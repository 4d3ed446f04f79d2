// kvrun-agent: PID 1 of a kvrun microVM (listening on vsock), or a plain host process serving
// a unix socket, which is how its container engine is tested on machines without KVM.
//
// In guest mode (PID 1 started by the kernel with no --listen, or --guest) it first does init's
// duties (agent/guest/): mounts the system filesystems, and from then on never exits: a fatal
// error or a stop signal powers the VM off instead. PID 1 of a mere PID namespace (tests) passes
// --listen and only reaps.
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "agent/engine.h"
#include "agent/event_loop.h"
#include "agent/guest/kernel_cmdline.h"
#include "agent/guest/power.h"
#include "agent/guest/system_mounts.h"
#include "agent/listen_address.h"
#include "agent/server.h"
#include "agent/supervisor.h"
#include "common/error.h"

namespace {

using namespace kvrun::agent;

constexpr const char* kGuestListen = "vsock:1024";

struct Options {
  std::vector<std::string> listen;
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string cgroup_mode = "auto";
  std::string state_dir = "/run/kvrun";
  std::string log_level = "info";
  bool pid1 = false;
  bool guest = false;
  bool poweroff_when_ready = false;  // kvrun.init=poweroff-when-ready: boot tests, benchmarks
};

CgroupMode cgroup_mode(const Options& options) {
  if (options.cgroup_mode == "required") return CgroupMode::kRequired;
  if (options.cgroup_mode == "best-effort") return CgroupMode::kBestEffort;
  // auto: inside the VM the agent is PID 1 and limits must hold; on a host they may not.
  return options.pid1 ? CgroupMode::kRequired : CgroupMode::kBestEffort;
}

std::string read_small_file(const char* path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "kvrun-init: ready ..." is what boot tests and the boot benchmark wait for.
void announce_ready(const std::vector<std::string>& listen) {
  std::istringstream uptime_text(read_small_file("/proc/uptime"));
  std::string uptime = "?";
  uptime_text >> uptime;
  std::string line = "kvrun-init: ready uptime=" + uptime +
                     " cpus=" + std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " listen=";
  for (std::size_t i = 0; i < listen.size(); ++i) line += (i ? "," : "") + listen[i];
  console_line(line.c_str());
}

// Runs until a stop signal. Returns normally only then.
void serve(const Options& options) {
  // Writes to a vanished stdio reader must fail with EPIPE, not kill the agent. Children reset
  // this before exec.
  std::signal(SIGPIPE, SIG_IGN);
  // SIGTERM/SIGINT: stop (host). As PID 1 also the kernel's and busybox's poweroff requests:
  // SIGINT is ctrl-alt-del, SIGPWR and SIGUSR2 ask init to power off.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGTERM, SIGINT, SIGPWR, SIGUSR2}) sigaddset(&stop_signals, sig);
  if (::sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0) kvrun::throw_errno("sigprocmask");
  kvrun::UniqueFd stop_fd(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!stop_fd) kvrun::throw_errno("signalfd");

  EventLoop loop;
  auto stop_watch = loop.watch(stop_fd.get(), EPOLLIN, [&](std::uint32_t) {
    signalfd_siginfo info{};
    if (::read(stop_fd.get(), &info, sizeof info) == sizeof info) {
      spdlog::info("stopping on signal {}", ::strsignal(static_cast<int>(info.ssi_signo)));
    }
    loop.stop();
  });
  CgroupConfig cgroups{options.cgroup_root, cgroup_mode(options)};
  Engine engine(loop, EngineConfig{cgroups, options.state_dir});
  Supervisor supervisor(loop, [&](pid_t pid, int status) { engine.on_exit(pid, status); });

  // Removes socket files on every way out, so a stale path never confuses a client.
  struct SocketFiles {
    std::vector<std::string> paths;
    ~SocketFiles() {
      for (const auto& path : paths) ::unlink(path.c_str());
    }
  } socket_files;
  std::vector<std::unique_ptr<Server>> servers;
  for (const std::string& text : options.listen) {
    ListenAddress address = parse_listen_address(text);
    servers.push_back(std::make_unique<Server>(loop, engine, listen_on(address)));
    if (address.kind == ListenAddress::Kind::kUnix) socket_files.paths.push_back(address.path);
  }
  spdlog::info("kvrun-agent listening (cgroup root {}, {})", cgroups.root.string(),
               cgroups.mode == CgroupMode::kRequired ? "required" : "best effort");
  if (options.guest) {
    announce_ready(options.listen);
    if (options.poweroff_when_ready) return;
  }
  loop.run();
}

[[noreturn]] void guest_fatal(const std::string& message) {
  console_line(("kvrun-agent: fatal: " + message + "; powering off").c_str());
  power_off(kGuestExitAgentFailed);
}

[[noreturn]] void run_as_pid1(Options options) {
  // An exception escaping anywhere must not end PID 1 (a kernel panic hides the reason).
  std::set_terminate([] { guest_fatal("terminate called"); });
  try {
    mount_guest_filesystems();
    std::string cmdline = read_small_file("/proc/cmdline");
    options.poweroff_when_ready = cmdline_value(cmdline, "init") == "poweroff-when-ready";
    if (auto level = cmdline_value(cmdline, "agent.log")) {
      spdlog::set_level(spdlog::level::from_str(*level));
    }
    if (options.listen.empty()) options.listen.push_back(kGuestListen);
    serve(options);
  } catch (const std::exception& e) {
    guest_fatal(e.what());
  }
  // Every container was killed and reaped by the engine on the way out.
  console_line("kvrun-init: powering off");
  power_off(kGuestExitClean);
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  options.pid1 = ::getpid() == 1;
  CLI::App app{"kvrun guest agent"};
  app.add_option("--listen", options.listen,
                 "unix:/path or vsock:PORT, repeatable (default as PID 1: vsock:1024)");
  app.add_option("--cgroup-root", options.cgroup_root,
                 "cgroup2 mount the containers' cgroups go under");
  app.add_option("--cgroups", options.cgroup_mode,
                 "required | best-effort | auto (required when PID 1)")
      ->check(CLI::IsMember({"auto", "required", "best-effort"}));
  app.add_option("--state-dir", options.state_dir,
                 "where containers' scratch space (overlay upper layers) is mounted");
  app.add_flag("--guest", options.guest,
               "PID 1 of a VM: mount the system, power off instead of exiting (default when PID 1 "
               "without --listen)");
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  // The kernel hands PID 1 any word it does not recognise: never fail on those.
  app.allow_extras(options.pid1);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Only the guest's PID 1 must not exit; a PID-namespace PID 1 (tests) has --listen.
    bool has_listen = false;
    for (int i = 1; i < argc; ++i) has_listen = has_listen || std::string(argv[i]) == "--listen";
    if (options.pid1 && !has_listen) guest_fatal(e.what());
    return app.exit(e);
  }
  options.guest = options.guest || (options.pid1 && options.listen.empty());
  spdlog::set_level(spdlog::level::from_str(options.log_level));
  spdlog::set_pattern("[%H:%M:%S.%e] kvrun-agent %l: %v");
  if (options.guest) {
    if (!options.pid1) {
      std::fprintf(stderr, "kvrun-agent: --guest needs to be PID 1\n");
      return 2;
    }
    run_as_pid1(options);
  }
  if (options.listen.empty()) {
    std::fprintf(stderr, "kvrun-agent: --listen is required (unless running as PID 1)\n");
    return 2;
  }
  try {
    serve(options);
    return 0;
  } catch (const kvrun::Error& e) {
    std::fprintf(stderr, "kvrun-agent: %s\n", e.what());
    return 1;
  }
}
