#include "shim/cli/lifecycle.h"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <optional>
#include <thread>

#include "common/error.h"
#include "common/error_code.h"
#include "protocol/client.h"
#include "shim/cli/logging.h"
#include "shim/host_cgroup/host_cgroup.h"
#include "shim/network/vm_network.h"
#include "shim/oci/bundle.h"
#include "shim/oci/hooks.h"
#include "shim/oci/pod.h"
#include "shim/rootfs/image_cache.h"
#include "shim/sandbox/container_request.h"
#include "shim/sandbox/guest_namespaces.h"
#include "shim/sandbox/locate.h"
#include "shim/sandbox/monitor.h"
#include "shim/sandbox/monitor_process.h"
#include "shim/state/process_identity.h"
#include "shim/state/transition.h"

namespace kvrun::cli {
namespace {

using state::ContainerState;

constexpr std::size_t kMaxSocketPath = sizeof(sockaddr_un::sun_path);
// Containers a pod's VM can take besides its sandbox container, at once: each is a virtio-blk
// device with an IRQ of its own (14 for all devices; the VM's rootfs, rng, vsock and net use 4).
constexpr unsigned kPodDiskSlots = 8;

// The running sandbox container a pod member joins, as its state says. Throws Error with one
// line when there is none to join.
sandbox::PodMember find_pod_sandbox(const state::StateDir& states, const std::string& sandbox_id,
                                    sandbox::SandboxKind kind) {
  const std::string what = "pod sandbox " + sandbox_id;
  std::filesystem::path dir;
  try {
    dir = states.open(sandbox_id);
  } catch (const Error&) {
    throw Error(what + ": no such container (create the pod's sandbox container first)");
  }
  ContainerState sandbox;
  {
    state::ContainerLock lock(dir);
    sandbox = state::load_current_state(dir);
  }
  if (sandbox.pod_role != oci::PodRole::kSandbox)
    throw Error(what + ": not a pod's sandbox container");
  if (sandbox.sandbox != kind)
    throw Error(what + ": runs in a " + sandbox::to_string(sandbox.sandbox) + " sandbox, not " +
                sandbox::to_string(kind));
  if (sandbox.status != state::Status::kCreated && sandbox.status != state::Status::kRunning)
    throw Error(what + ": is " + std::string(state::to_string(sandbox.status)) +
                ", not created or running");
  return sandbox::PodMember{sandbox.agent_address, sandbox.control_socket, sandbox.vmm_pid};
}

sandbox::LaunchConfig launch_config(const Globals& globals, const oci::Bundle& bundle,
                                    const std::filesystem::path& dir) {
  sandbox::LaunchConfig config;
  config.kind = sandbox::parse_sandbox_kind(globals.sandbox_kind());
  config.state_dir = dir;
  config.log_max_bytes = globals.sandbox_log_max_kib * 1024;
  if (config.kind == sandbox::SandboxKind::kHost) {
    config.agent = sandbox::find_agent();
  } else {
    config.vmm = sandbox::find_vmm();
    config.kernel = sandbox::find_kernel(globals.kernel);
    config.initrd = sandbox::find_initrd(globals.initrd);
    config.size = sandbox::size_vm(bundle.resources, std::thread::hardware_concurrency());
  }
  return config;
}

// Removes the half-made container unless release() was called.
class CreationGuard {
 public:
  CreationGuard(const state::StateDir& dir, std::string id) : dir_(dir), id_(std::move(id)) {}
  ~CreationGuard() {
    if (!released_) dir_.remove(id_);
  }
  void release() { released_ = true; }

 private:
  const state::StateDir& dir_;
  std::string id_;
  bool released_ = false;
};

bool wait_gone(pid_t pid, std::uint64_t start_time, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (state::process_alive(pid, start_time)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Stops the monitor (which kills the sandbox with it); SIGKILL if it does not go in time. The
// sandbox dies with its monitor (PR_SET_PDEATHSIG), checked here as well.
void kill_monitor(const ContainerState& state) {
  if (state.pid > 0 && state::process_alive(state.pid, state.pid_start_time)) {
    ::kill(state.pid, SIGTERM);
    if (!wait_gone(state.pid, state.pid_start_time, std::chrono::seconds(5))) {
      spdlog::warn("monitor {} of {} did not stop, killing it", state.pid, state.id);
      ::kill(state.pid, SIGKILL);
      wait_gone(state.pid, state.pid_start_time, std::chrono::seconds(5));
    }
  }
}

}  // namespace

pid_t create_container(const Globals& globals, const CreateOptions& options) {
  oci::Bundle bundle = oci::load_bundle(options.bundle);
  auto kind = sandbox::parse_sandbox_kind(globals.sandbox_kind());
  sandbox::check_mounts(bundle, kind);
  sandbox::check_namespaces(
      bundle, kind,
      oci::pod_placement(bundle.annotations, options.id).role == oci::PodRole::kMember);

  state::StateDir states(globals.root);
  // The sandbox's sockets live in the container's directory; engines' 64-character ids make a
  // long --root overflow a unix socket address, which would only show as a failed boot later.
  auto socket = states.container_dir(options.id) / "vsock.sock_1024";
  if (socket.string().size() >= kMaxSocketPath)
    throw Error("--root " + globals.root + ": too long for container id " + options.id + " (" +
                socket.string() + " exceeds a unix socket's " + std::to_string(kMaxSocketPath - 1) +
                " bytes)");
  auto dir = states.create(options.id);
  oci::PoststopOnFailure poststop(
      bundle.hooks, oci::stopped_hook_state(options.id, bundle.dir, bundle.annotations));
  CreationGuard guard(states, options.id);
  oci::save_hooks(dir, bundle.hooks);

  ContainerState initial;
  initial.id = options.id;
  initial.bundle = bundle.dir;
  initial.rootfs = bundle.rootfs;
  initial.created = state::now_rfc3339();
  initial.annotations = bundle.annotations;
  initial.sandbox = kind;
  oci::PodPlacement pod = oci::pod_placement(bundle.annotations, options.id);
  sandbox::MonitorConfig monitor;
  if (pod.role == oci::PodRole::kMember) {
    monitor.member = find_pod_sandbox(states, pod.sandbox_id, kind);
    initial.pod_role = pod.role;
    initial.pod_sandbox = pod.sandbox_id;
  }
  state::save_state(dir, initial);

  monitor.id = options.id;
  monitor.state_dir = dir;
  monitor.console_socket = options.console_socket;
  monitor.launch = launch_config(globals, bundle, dir);
  if (pod.role == oci::PodRole::kSandbox) {
    monitor.pod_sandbox = true;
    initial.pod_role = pod.role;
    initial.pod_sandbox = options.id;
    if (kind == sandbox::SandboxKind::kVm) {
      monitor.launch.disk_slots = kPodDiskSlots;
      monitor.launch.control_socket = dir / "vmm-control.sock";
      initial.control_socket = monitor.launch.control_socket;
    }
    state::save_state(dir, initial);
  }
  std::optional<rootfs::CachedImage> image;
  if (kind == sandbox::SandboxKind::kVm) {
    auto started = std::chrono::steady_clock::now();
    image = rootfs::ImageCache(globals.rootfs_cache()).get(bundle.rootfs);
    spdlog::debug("rootfs image {} ({}) in {} ms", image->path.string(),
                  image->hit ? "cached" : "built",
                  std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count());
    monitor.launch.rootfs_image_fd = image->fd.get();
    monitor.rootfs_image = image->path;
    initial.rootfs_image = image->path;
    state::save_state(dir, initial);
  }
  // The monitor joins it before it starts the sandbox: kvrun-vmm and every helper are accounted
  // and limited on the host. A pod member's monitor starts no VM (the pod's VM is in the
  // sandbox container's cgroup): its own cgroup gets the pids limit only.
  std::optional<host_cgroup::HostCgroup> cgroup = host_cgroup::create_sandbox_cgroup(
      {&bundle.config, options.id, globals.root, dir,
       pod.role == oci::PodRole::kMember
           ? std::nullopt
           : std::optional<std::uint64_t>(
                 sandbox::size_vm(bundle.resources, std::thread::hardware_concurrency())
                     .memory_mib)});
  monitor.bundle = std::move(bundle);

  pid_t pid = sandbox::fork_monitor([&](int ready_fd) {
    if (cgroup) sandbox::join_host_cgroup(*cgroup, ready_fd);
    // Its own session: the terminal's Ctrl-C reaches `kvrun run`, which forwards it, and never
    // tears the sandbox down behind the CLI's back.
    ::setsid();
    try {
      if (globals.log.empty())
        setup_logging((dir / "monitor.log").string(), globals.log_format, globals.debug);
    } catch (const Error&) {
    }
    monitor.ready_fd = ready_fd;
    sandbox::run_monitor(std::move(monitor));
  });
  if (!options.pid_file.empty()) write_pid_file(options.pid_file, pid);
  if (cgroup) cgroup->release();
  guard.release();
  poststop.release();
  return pid;
}

void start_container(const Globals& globals, const std::string& id) {
  state::StateDir states(globals.root);
  auto dir = states.open(id);
  std::optional<state::ContainerLock> lock(std::in_place, dir);
  ContainerState current = state::load_current_state(dir);
  switch (current.status) {
    case state::Status::kCreated:
      break;
    case state::Status::kStopped:
      throw CodedError(ErrorCode::kFailedPrecondition, "cannot start a container that has stopped");
    case state::Status::kCreating:
      throw CodedError(ErrorCode::kFailedPrecondition,
                       "cannot start a container that is still being created");
    case state::Status::kPaused:
      throw CodedError(ErrorCode::kFailedPrecondition,
                       "cannot start a container in the paused state");
    default:
      throw CodedError(ErrorCode::kFailedPrecondition, "cannot start an already running container");
  }
  oci::Hooks hooks = oci::load_saved_hooks(dir);
  // The agent answers once the process has exec'd, after the startContainer hooks.
  protocol::Client client(connect_to_agent(
      current, std::chrono::seconds(30) +
                   start_container_hooks_budget(hooks.of(HookKind::kStartContainer))));
  // Not under the lock while the startContainer hooks run (for up to their timeouts): a
  // delete --force or pause must not wait for them. The agent refuses a second start.
  lock.reset();
  client.call(protocol::StartContainer{id});
  {
    state::ContainerLock relock(dir);
    ContainerState now = state::load_current_state(dir);
    // Unless a delete or the monitor (the process has exited already) got there first.
    if (now.status == state::Status::kCreated) {
      state::transition(now, state::Status::kRunning);
      state::save_state(dir, now);
    }
    current = now;
  }
  // The process runs; unlike runc (which runs them in create and fails it), a failure is a
  // warning, as the spec says.
  oci::run_hooks_warn_only(hooks, HookKind::kPoststart,
                           oci::hook_state(current, state::Status::kRunning));
}

void delete_container(const Globals& globals, const std::string& id, bool force) {
  state::StateDir states(globals.root);
  // As runc: forcing the deletion of a container that is not there is done already.
  if (force && !states.exists(id)) return;
  auto dir = states.open(id);
  ContainerState current;
  {
    state::ContainerLock lock(dir);
    current = state::load_current_state(dir);
  }
  if (current.status != state::Status::kStopped && current.status != state::Status::kCreated &&
      !force) {
    throw CodedError(ErrorCode::kFailedPrecondition,
                     "cannot delete container " + id +
                         " that is not stopped: " + std::string(state::to_string(current.status)));
  }
  oci::Hooks hooks = oci::load_saved_hooks(dir);
  // Not under the lock: the monitor takes it to record the exit while it stops.
  kill_monitor(current);
  try {
    // Normally the monitor removed the VM's tap and qdiscs already; not if it was killed.
    network::remove_recorded_network(dir);
  } catch (const Error& e) {
    spdlog::warn("container {}: network teardown: {}", id, e.what());
  }
  host_cgroup::remove_recorded(dir);
  states.remove(id);
  oci::run_hooks_warn_only(hooks, HookKind::kPoststop,
                           oci::hook_state(current, state::Status::kStopped));
}

ExitStatus run_container(const Globals& globals, const CreateOptions& options, bool detach,
                         bool keep) {
  // Signals for the container arrive before the monitor can forward them: block them now and
  // read them from a signalfd once the container runs.
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
    sigaddset(&forwarded, sig);
  sigset_t previous;
  if (!detach) ::sigprocmask(SIG_BLOCK, &forwarded, &previous);

  pid_t monitor = create_container(globals, options);
  try {
    start_container(globals, options.id);
  } catch (const Error&) {
    delete_container(globals, options.id, true);
    throw;
  }
  if (detach) return 0;

  UniqueFd signals(::signalfd(-1, &forwarded, SFD_CLOEXEC));
  UniqueFd monitor_fd(static_cast<int>(::syscall(SYS_pidfd_open, monitor, 0)));
  if (!signals || !monitor_fd) throw_errno("signalfd/pidfd_open");
  state::StateDir states(globals.root);
  for (;;) {
    pollfd fds[2] = {{monitor_fd.get(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) throw_errno("poll");
    if (fds[0].revents != 0) break;
    if (fds[1].revents != 0) {
      signalfd_siginfo info{};
      if (::read(signals.get(), &info, sizeof info) != sizeof info) continue;
      if (info.ssi_signo == SIGWINCH) {
        // A window change is a resize of the container's terminal, which the monitor does.
        ::kill(monitor, SIGWINCH);
        continue;
      }
      try {
        ContainerState current = state::load_state(states.open(options.id));
        protocol::Client client(connect_to_agent(current, std::chrono::seconds(5)));
        client.call(protocol::SignalProcess{options.id, "", static_cast<int>(info.ssi_signo)});
      } catch (const Error& e) {
        spdlog::warn("forwarding signal {}: {}", info.ssi_signo, e.what());
      }
    }
  }
  int status = 0;
  while (::waitpid(monitor, &status, 0) < 0 && errno == EINTR) {
  }
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (!keep) delete_container(globals, options.id, true);
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
  return code;
}

}  // namespace kvrun::cli
