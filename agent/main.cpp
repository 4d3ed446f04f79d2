// kvrun-agent: PID 1 of a kvrun microVM (listening on vsock), or a plain host process serving
// a unix socket, which is how its container engine is tested on machines without KVM.
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "agent/engine.h"
#include "agent/event_loop.h"
#include "agent/listen_address.h"
#include "agent/server.h"
#include "agent/supervisor.h"
#include "common/error.h"

namespace {

kvrun::agent::CgroupMode cgroup_mode(const std::string& name) {
  if (name == "required") return kvrun::agent::CgroupMode::kRequired;
  if (name == "best-effort") return kvrun::agent::CgroupMode::kBestEffort;
  // auto: inside the VM the agent is PID 1 and limits must hold; on a host they may not.
  return ::getpid() == 1 ? kvrun::agent::CgroupMode::kRequired
                         : kvrun::agent::CgroupMode::kBestEffort;
}

int run(const std::string& listen, const kvrun::agent::CgroupConfig& cgroups) {
  using namespace kvrun::agent;
  // Writes to a vanished stdio reader must fail with EPIPE, not kill the agent. Children reset
  // this before exec.
  std::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  if (::sigprocmask(SIG_BLOCK, &stop_signals, nullptr) != 0) kvrun::throw_errno("sigprocmask");
  kvrun::UniqueFd stop_fd(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!stop_fd) kvrun::throw_errno("signalfd");

  EventLoop loop;
  auto stop_watch = loop.watch(stop_fd.get(), EPOLLIN, [&](std::uint32_t) {
    spdlog::info("stopping on signal");
    loop.stop();
  });
  Engine engine(loop, EngineConfig{cgroups});
  Supervisor supervisor(loop, [&](pid_t pid, int status) { engine.on_exit(pid, status); });
  ListenAddress address = parse_listen_address(listen);
  Server server(loop, engine, listen_on(address));
  // Removes the socket file on every way out of run(), so a stale path never confuses a client.
  struct SocketFile {
    std::string path;
    ~SocketFile() {
      if (!path.empty()) ::unlink(path.c_str());
    }
  } socket_file{address.kind == ListenAddress::Kind::kUnix ? address.path : ""};
  spdlog::info("kvrun-agent listening on {} (cgroup root {}, {})", listen, cgroups.root.string(),
               cgroups.mode == CgroupMode::kRequired ? "required" : "best effort");
  loop.run();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kvrun guest agent"};
  std::string listen;
  std::string cgroup_root = "/sys/fs/cgroup";
  std::string mode = "auto";
  std::string log_level = "info";
  app.add_option("--listen", listen, "unix:/path or vsock:PORT")->required();
  app.add_option("--cgroup-root", cgroup_root, "cgroup2 mount the containers' cgroups go under");
  app.add_option("--cgroups", mode, "required | best-effort | auto (required when PID 1)")
      ->check(CLI::IsMember({"auto", "required", "best-effort"}));
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("[%H:%M:%S.%e] kvrun-agent %l: %v");
  try {
    return run(listen, kvrun::agent::CgroupConfig{cgroup_root, cgroup_mode(mode)});
  } catch (const kvrun::Error& e) {
    std::fprintf(stderr, "kvrun-agent: %s\n", e.what());
    return 1;
  }
}
