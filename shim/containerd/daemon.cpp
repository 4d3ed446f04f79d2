#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include "common/error.h"
#include "common/error_code.h"
#include "shim/containerd/actions.h"
#include "shim/containerd/events.h"
#include "shim/containerd/kvrun_command.h"
#include "shim/containerd/reaper.h"
#include "shim/containerd/rootfs_mounts.h"
#include "shim/containerd/shim_socket.h"
#include "shim/containerd/task_service.h"
#include "shim/containerd/task_set.h"

namespace kvrun::containerd {
namespace {

// containerd reads the bundle's "log" FIFO (it holds it open read-write) and copies it to its
// own log: the daemon's stderr goes there.
void log_to_bundle_fifo(bool debug) {
  int fd = ::open("log", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd >= 0) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    ::dup2(fd, 2);
    ::close(fd);
  }
  auto logger = spdlog::stderr_logger_mt("containerd-shim-kvrun-v2");
  logger->set_pattern(
      "time=\"%Y-%m-%dT%H:%M:%S.%fZ\" level=%l msg=\"%v\" runtime=io.containerd.kvrun.v2",
      spdlog::pattern_time_type::utc);
  spdlog::set_default_logger(logger);
  spdlog::set_level(debug ? spdlog::level::debug : spdlog::level::info);
  spdlog::flush_on(spdlog::level::debug);
}

// The socket of the bundle's shim, if that shim is dead. A pod's container names its sandbox
// container's shim, which may still serve the rest of the pod.
void remove_dead_shims_socket(const std::filesystem::path& bundle) {
  std::ifstream in(bundle / "address");
  std::string address;
  if (!std::getline(in, address)) return;
  try {
    std::string path = socket_path(address);
    if (!can_connect(path)) ::unlink(path.c_str());
  } catch (const Error&) {
  }
}

}  // namespace

std::filesystem::path kvrun_root_for(const std::string& ns) {
  const char* env = std::getenv("KVRUN_CONTAINERD_ROOT");
  std::filesystem::path base = env != nullptr && *env != '\0' ? env : "/run/containerd/kvrun";
  std::error_code ec;
  std::filesystem::create_directories(base, ec);
  return base / ns;
}

int run_daemon(const ShimFlags& flags) {
  Reaper reaper;  // first: SIGCHLD is blocked before any thread exists
  std::signal(SIGPIPE, SIG_IGN);
  log_to_bundle_fifo(flags.debug);
  if (flags.id.empty()) throw Error("-id is required");
  int type = 0;
  socklen_t length = sizeof type;
  if (::getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &length) < 0) {
    throw Error("the daemon expects its listening socket as fd 3 (run it through `start`)");
  }
  UniqueFd listener(3);

  const char* ttrpc_address = std::getenv("TTRPC_ADDRESS");
  auto events = std::make_unique<EventPublisher>(ttrpc_address ? ttrpc_address : "", flags.ns);
  TaskOptions options{.id = flags.id,
                      .bundle = std::filesystem::current_path(),
                      .kvrun = locate_kvrun(),
                      .kvrun_root = kvrun_root_for(flags.ns)};
  spdlog::info("serving task {} (bundle {}, kvrun {}, root {})", options.id,
               options.bundle.string(), options.kvrun.string(), options.kvrun_root.string());
  TaskSet tasks(options, reaper, *events);

  std::thread([&reaper] { reaper.run(); }).detach();
  ttrpc::Registry registry;
  std::unique_ptr<ttrpc::Server> server;
  register_task_service(registry, tasks, [&server] { server->stop(); });
  server = std::make_unique<ttrpc::Server>(std::move(listener), registry);
  server->serve();

  spdlog::info("shutting down");
  // Named from the flags, not the bundle's address file: containerd may have removed the
  // bundle by now when this shim served a pod.
  ::unlink(socket_path(shim_socket_address(flags.address, flags.ns, flags.id)).c_str());
  events.reset();  // sends what is still queued (TaskDelete)
  std::fflush(nullptr);
  // Detached threads (the reaper, idle connections) may still hold references: leave without
  // running destructors under them.
  ::_exit(0);
}

int delete_shim(const ShimFlags& flags) {
  Reaper reaper;
  std::thread([&reaper] { reaper.run(); }).detach();
  if (flags.id.empty()) throw Error("delete: -id is required");
  std::filesystem::path bundle =
      flags.bundle.empty() ? std::filesystem::current_path() : std::filesystem::path(flags.bundle);
  KvrunCommand kvrun(reaper, locate_kvrun(), kvrun_root_for(flags.ns), bundle);
  pid_t pid = 0;
  {
    std::ifstream in(bundle / "init.pid");
    in >> pid;
  }
  try {
    kvrun.run({"delete", "--force", flags.id});
  } catch (const Error& e) {
    // containerd logs stderr as a cleanup warning; a container already gone is the usual case.
    if (code_of(e) != ErrorCode::kNotFound) {
      std::fprintf(stderr, "%s\n", e.what());
    }
  }
  unmount_rootfs(bundle / "rootfs");
  remove_dead_shims_socket(bundle);
  api::DeleteResponse response;
  response.set_pid(static_cast<std::uint32_t>(pid > 0 ? pid : 0));
  response.set_exit_status(128 + SIGKILL);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  response.mutable_exited_at()->set_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(now).count());
  response.mutable_exited_at()->set_nanos(static_cast<int>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now).count() % 1000000000));
  std::string bytes = response.SerializeAsString();
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  std::fflush(stdout);
  ::_exit(0);
}

}  // namespace kvrun::containerd
