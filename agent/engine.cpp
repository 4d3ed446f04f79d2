#include "agent/engine.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/container/cgroup_stats.h"
#include "agent/container/process_list.h"
#include "agent/container/pty.h"
#include "agent/net/network_setup.h"
#include "common/error.h"
#include "protocol/agent_error.h"
#include "protocol/framing.h"

namespace kvrun::agent {
namespace {

using protocol::AgentError;
using C = ErrorCode;

// What the host sent that the agent's parsers refuse (spec, process, resources) is the
// request's fault, whatever the parser's own error type.
template <typename Parse>
auto parse_request(Parse parse) {
  try {
    return parse();
  } catch (const AgentError&) {
    throw;
  } catch (const Error& e) {
    throw AgentError(C::kInvalidArgument, e.what());
  }
}

// config.json comes from the host; bound it like any frame.
constexpr std::size_t kMaxConfigSize = protocol::kMaxFrameSize;

nlohmann::json read_bundle_config(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw_errno("open " + path);
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxConfigSize)
      throw AgentError(C::kInvalidArgument, path + ": larger than 4 MiB");
  }
  nlohmann::json config = nlohmann::json::parse(text, nullptr, false);
  if (config.is_discarded()) throw AgentError(C::kInvalidArgument, path + ": malformed JSON");
  return config;
}

std::string canonical_directory(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) throw_errno("rootfs " + path);
  struct stat st;
  if (::stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw AgentError(C::kInvalidArgument, "rootfs " + path + ": not a directory");
  }
  return resolved;
}

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A client that never asks for OOM events must not make the agent grow without bound.
constexpr std::size_t kMaxQueuedOomEvents = 1024;

std::string process_name(const std::string& container, const std::string& exec_id) {
  return exec_id.empty() ? container : container + "/" + exec_id;
}

}  // namespace

LaunchContext Engine::Container::context() const {
  return LaunchContext{spec, rootfs, cgroup ? &*cgroup : nullptr, seccomp ? &*seccomp : nullptr,
                       &sandbox_namespaces, id, bundle};
}

Engine::Engine(EventLoop& loop, EngineConfig config)
    : loop_(loop),
      config_(std::move(config)),
      oom_watcher_(loop, [this](const std::string& id) { on_oom(id); }) {}

Engine::~Engine() {
  for (auto& [id, container] : containers_) {
    kill_all(*container);
    oom_watcher_.remove(id);
  }
}

Engine::Container& Engine::find(const std::string& id) {
  auto it = containers_.find(id);
  if (it == containers_.end())
    throw AgentError(C::kNotFound, "container " + id + ": no such container");
  return *it->second;
}

Engine::Process& Engine::find_process(Container& container, const std::string& exec_id) {
  if (exec_id.empty()) return *container.init;
  auto it = container.execs.find(exec_id);
  if (it == container.execs.end()) {
    throw AgentError(C::kNotFound, "container " + container.id + ": no process " + exec_id);
  }
  return *it->second;
}

ChildStdio Engine::make_stdio(Process& process, bool with_stdin, bool terminal) {
  ChildStdio child;
  if (terminal) {
    for (UniqueFd* fd : {&child.in, &child.out, &child.err}) {
      *fd = UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC));
      if (!*fd) throw_errno("open /dev/null");
    }
    return child;
  }
  if (with_stdin) {
    auto [read_end, write_end] = make_pipe();
    child.in = std::move(read_end);
    process.stdin_pipe = std::move(write_end);
    process.has_stdin = true;
  } else {
    child.in = UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!child.in) throw_errno("open /dev/null");
  }
  auto [out_read, out_write] = make_pipe();
  auto [err_read, err_write] = make_pipe();
  process.stdout_pipe = std::move(out_read);
  process.stderr_pipe = std::move(err_read);
  child.out = std::move(out_write);
  child.err = std::move(err_write);
  return child;
}

void Engine::use_pty(Process& process, UniqueFd master) {
  // The relays may each close their copy; the engine keeps one for resizing.
  process.stdout_pipe = UniqueFd(::fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
  process.stdin_pipe = UniqueFd(::fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
  if (!process.stdout_pipe || !process.stdin_pipe) throw_errno("dup the pty master");
  process.has_stdin = true;
  process.pty_master = std::move(master);
}

void Engine::check_not_destroyed() const {
  if (destroyed_) throw AgentError(C::kFailedPrecondition, "the sandbox is being destroyed");
}

nlohmann::json Engine::create(const protocol::CreateContainer& request) {
  check_not_destroyed();
  const std::string& id = request.container_id;
  if (containers_.contains(id))
    throw AgentError(C::kAlreadyExists, "container " + id + ": already exists");
  auto container = std::make_unique<Container>();
  container->id = id;
  container->bundle = request.state_bundle.value_or(request.bundle_path.value_or(""));
  nlohmann::json config =
      request.bundle_path ? read_bundle_config(*request.bundle_path) : *request.config;
  if (!request.files.empty())
    container->files.emplace(CopiedFiles::write(config_.state_dir, id, request.files, config));
  container->spec = parse_request([&] { return spec::parse_container_spec(config); });

  if (request.sandbox) {
    if (!sandbox_) {
      throw AgentError(C::kFailedPrecondition,
                       "body.sandbox: there is no sandbox (CreateSandbox first)");
    }
    container->sandbox_namespaces = sandbox_->replacements_for(container->spec.linux_spec);
  }
  if (request.network) {
    if (!network_netns_) {
      throw AgentError(C::kFailedPrecondition,
                       "body.network: the network is not configured (ConfigureNetwork first)");
    }
    // A network namespace path is the host's (CNI's): its interface is now the guest's.
    if (container->spec.linux_spec.namespace_paths.contains(spec::NamespaceType::kNetwork)) {
      container->sandbox_namespaces[spec::NamespaceType::kNetwork] = network_netns_.get();
    }
  }
  if (request.sandbox) {
    // A pod member's namespace paths are the host's. Each must be one that the sandbox (or the
    // configured network) stands in for: opened here, it would name some guest process's.
    for (const auto& [type, path] : container->spec.linux_spec.namespace_paths) {
      if (container->sandbox_namespaces.contains(type)) continue;
      throw AgentError(C::kInvalidArgument,
                       "config.linux.namespaces: the " + std::string(namespace_name(type)) +
                           " namespace at " + path + " is not one that sandbox " + sandbox_id_ +
                           " shares");
    }
  }

  std::string rootfs = request.rootfs.value_or(container->spec.root_path);
  if (rootfs.empty()) throw AgentError(C::kInvalidArgument, "body.rootfs: must not be empty");
  if (rootfs.front() != '/') {
    if (!request.bundle_path) {
      throw AgentError(C::kInvalidArgument, "config.root.path: must be absolute without a bundle");
    }
    rootfs = *request.bundle_path + "/" + rootfs;
  }
  if (is_block_device(rootfs)) {
    container->block.emplace(BlockRootfs::mount(config_.state_dir, id, rootfs));
    container->rootfs = container->block->path();
  } else {
    container->rootfs = canonical_directory(rootfs);
  }
  if (request.overlay) {
    container->overlay.emplace(OverlayRootfs::mount(config_.state_dir, id, container->rootfs));
    container->rootfs = container->overlay->path();
  }
  if (container->spec.linux_spec.seccomp) {
    container->seccomp = SeccompFilter::compile(*container->spec.linux_spec.seccomp);
  }
  container->cgroup = Cgroup::create(config_.cgroups, id, container->spec.linux_spec.resources);

  container->init = std::make_unique<Process>();
  bool terminal = container->spec.process.terminal;
  ChildStdio stdio = make_stdio(*container->init, request.stdin, terminal);
  LaunchedInit init = launch_init(container->context(), std::move(stdio));
  container->init->pid = init.pid;
  if (terminal) use_pty(*container->init, std::move(init.pty_master));
  container->pending_start = std::move(init);
  pid_t pid = container->init->pid;
  if (container->cgroup) oom_watcher_.add(id, container->cgroup->path());
  containers_.emplace(id, std::move(container));
  spdlog::info("container {}: created, init pid {}", id, pid);
  return {{"pid", pid}};
}

void Engine::start(const protocol::StartContainer& request, StartCallback done) {
  Container& container = find(request.container_id);
  if (container.state != State::kCreated || !container.pending_start) {
    throw AgentError(C::kFailedPrecondition, "container " + container.id + ": already started");
  }
  auto starting = std::make_unique<Starting>();
  starting->deadline = UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!starting->deadline) throw_errno("timerfd for the start of container " + container.id);
  itimerspec deadline{};
  const auto ms = container.pending_start->start_timeout.count();
  deadline.it_value.tv_sec = static_cast<time_t>(ms / 1000);
  deadline.it_value.tv_nsec = static_cast<long>(ms % 1000) * 1000000L;
  if (ms <= 0) deadline.it_value.tv_nsec = 1;  // 0 would disarm the timer
  if (::timerfd_settime(starting->deadline.get(), 0, &deadline, nullptr) != 0) {
    throw_errno("arm the start deadline of container " + container.id);
  }
  starting->init = std::move(*container.pending_start);
  container.pending_start.reset();
  container.state = State::kRunning;
  begin_start_init(starting->init);
  starting->done = std::move(done);
  const std::string id = container.id;
  starting->answer_watch = loop_.watch(starting->init.channel.fd(), EPOLLIN,
                                       [this, id](std::uint32_t) { finish_start(id, false); });
  starting->deadline_watch = loop_.watch(starting->deadline.get(), EPOLLIN,
                                         [this, id](std::uint32_t) { finish_start(id, true); });
  container.starting = std::move(starting);
}

void Engine::finish_start(const std::string& id, bool timed_out) {
  auto it = containers_.find(id);
  if (it == containers_.end() || !it->second->starting) return;
  Container& container = *it->second;
  std::unique_ptr<Starting> starting = std::move(container.starting);
  std::exception_ptr error;
  try {
    if (timed_out) {
      // The init is stuck before its exec (a hook stopped it, say): it will not start now.
      ::kill(starting->init.pid, SIGKILL);
      throw Error("container " + id + ": its init did not exec within " +
                  std::to_string(starting->init.start_timeout.count()) + " ms");
    }
    finish_start_init(starting->init);
    spdlog::info("container {}: started", id);
  } catch (const std::exception&) {
    error = std::current_exception();
  }
  starting->done(error);
}

void Engine::abandon_start(Container& container) {
  if (!container.starting) return;
  std::unique_ptr<Starting> starting = std::move(container.starting);
  starting->done(std::make_exception_ptr(AgentError(
      C::kNotFound, "container " + container.id + ": removed before its process started")));
}

nlohmann::json Engine::exec(const protocol::ExecProcess& request) {
  check_not_destroyed();
  Container& container = find(request.container_id);
  if (container.state == State::kPaused)
    throw AgentError(C::kFailedPrecondition, "container " + container.id + ": paused");
  if (container.state != State::kRunning || container.init->exit_status) {
    throw AgentError(C::kFailedPrecondition, "container " + container.id + ": not running");
  }
  if (auto used = container.execs.find(request.exec_id); used != container.execs.end()) {
    // An exec id is free again once its process has exited: containerd lets a client reuse
    // one after deleting the exec, and its waiters have had their answer.
    if (!used->second->exit_status) {
      throw AgentError(C::kAlreadyExists, "container " + container.id + ": process " +
                                              request.exec_id + " already exists");
    }
    container.execs.erase(used);
  }
  spec::ProcessSpec spec =
      parse_request([&] { return spec::parse_process_spec(request.process, "body.process"); });
  auto process = std::make_unique<Process>();
  process->exec_id = request.exec_id;
  ChildStdio stdio = make_stdio(*process, request.stdin, spec.terminal);
  LaunchedExec launched =
      launch_exec(container.context(), container.init->pid, spec, std::move(stdio));
  process->pid = launched.pid;
  if (spec.terminal) use_pty(*process, std::move(launched.pty_master));
  pid_t pid = process->pid;
  container.execs.emplace(request.exec_id, std::move(process));
  spdlog::info("container {}: exec {} pid {}", container.id, request.exec_id, pid);
  return {{"pid", pid}};
}

nlohmann::json Engine::signal(const protocol::SignalProcess& request) {
  Container& container = find(request.container_id);
  if (request.all) {
    // Frozen, the cgroup cannot fork new members between reading its list and signalling it;
    // the signal is delivered when it thaws (SIGKILL at once).
    const Cgroup* frozen =
        container.cgroup && container.state != State::kPaused ? &*container.cgroup : nullptr;
    if (frozen) frozen->freeze(true);
    std::vector<pid_t> pids;
    int error = 0;
    try {
      pids = live_processes(container);
      for (pid_t pid : pids) {
        if (::kill(pid, request.signal) != 0 && errno != ESRCH && error == 0) error = errno;
      }
    } catch (...) {
      if (frozen) frozen->freeze(false);
      throw;
    }
    if (frozen) frozen->freeze(false);
    // The process is gone, as for one that has exited (containerd's NotFound).
    if (pids.empty())
      throw AgentError(C::kNotFound, "container " + container.id + ": has no running process");
    if (error != 0) {
      errno = error;
      throw_errno("signal the processes of container " + container.id);
    }
    spdlog::info("container {}: signal {} sent to {} process(es)", container.id, request.signal,
                 pids.size());
    return nlohmann::json::object();
  }
  Process& process = find_process(container, request.exec_id);
  std::string name = process_name(container.id, request.exec_id);
  if (process.exit_status)
    throw AgentError(C::kNotFound, "process " + name + ": has already exited");
  // The pid cannot have been reused: only our own waitpid would release it.
  if (::kill(process.pid, request.signal) != 0) throw_errno("signal process " + name);
  return nlohmann::json::object();
}

void Engine::wait(const protocol::WaitProcess& request, WaitCallback done) {
  Container& container = find(request.container_id);
  Process& process = find_process(container, request.exec_id);
  if (process.exit_status) {
    done(*process.exit_status);
  } else {
    process.waiters.push_back(std::move(done));
  }
}

nlohmann::json Engine::remove(const protocol::RemoveContainer& request) {
  Container& container = find(request.container_id);
  bool alive = !container.init->exit_status;
  for (const auto& [_, p] : container.execs) alive = alive || !p->exit_status;
  if (alive && !request.force && container.state != State::kCreated) {
    throw AgentError(C::kFailedPrecondition,
                     "container " + container.id + ": still running (remove with force)");
  }
  if (container.state == State::kPaused) container.cgroup->freeze(false);
  kill_all(container);
  oom_watcher_.remove(container.id);
  containers_.erase(request.container_id);
  spdlog::info("container {}: removed", request.container_id);
  return nlohmann::json::object();
}

void Engine::check_attach(const protocol::AttachStdio& request) {
  Container& container = find(request.container_id);
  Process& process = find_process(container, request.exec_id);
  std::string name = process_name(container.id, request.exec_id);
  std::string stream(protocol::to_string(request.stream));
  const UniqueFd* pipe = &process.stdout_pipe;
  if (request.stream == protocol::StdioStream::kStdin) {
    if (!process.has_stdin)
      throw AgentError(C::kFailedPrecondition, "process " + name + ": was created without stdin");
    pipe = &process.stdin_pipe;
  } else if (request.stream == protocol::StdioStream::kStderr) {
    if (process.pty_master) {
      throw AgentError(C::kFailedPrecondition,
                       "process " + name + ": has a terminal, whose output is all on stdout");
    }
    pipe = &process.stderr_pipe;
  }
  if (!pipe->valid()) {
    throw AgentError(C::kFailedPrecondition,
                     "process " + name + ": " + stream + " is already attached");
  }
}

void Engine::attach(const protocol::AttachStdio& request, UniqueFd connection) {
  check_attach(request);
  Container& container = find(request.container_id);
  Process& process = find_process(container, request.exec_id);
  std::string name = process_name(container.id, request.exec_id) + " " +
                     std::string(protocol::to_string(request.stream));
  std::unique_ptr<StdioRelay> relay;
  switch (request.stream) {
    case protocol::StdioStream::kStdin:
      relay = std::make_unique<StdioRelay>(loop_, std::move(connection),
                                           std::move(process.stdin_pipe), name);
      break;
    case protocol::StdioStream::kStdout:
      relay = std::make_unique<StdioRelay>(loop_, std::move(process.stdout_pipe),
                                           std::move(connection), name);
      break;
    case protocol::StdioStream::kStderr:
      relay = std::make_unique<StdioRelay>(loop_, std::move(process.stderr_pipe),
                                           std::move(connection), name);
      break;
  }
  process.relays.push_back(std::move(relay));
}

const Cgroup& Engine::cgroup_of(const Container& container) const {
  if (!container.cgroup) {
    throw AgentError(C::kFailedPrecondition,
                     "container " + container.id + ": has no cgroup (the agent runs without one)");
  }
  return *container.cgroup;
}

nlohmann::json Engine::pause(const protocol::PauseContainer& request) {
  Container& container = find(request.container_id);
  if (container.state != State::kRunning) {
    throw AgentError(C::kFailedPrecondition, "container " + container.id + ": not running");
  }
  cgroup_of(container).freeze(true);
  container.state = State::kPaused;
  spdlog::info("container {}: paused", container.id);
  return nlohmann::json::object();
}

nlohmann::json Engine::resume(const protocol::ResumeContainer& request) {
  Container& container = find(request.container_id);
  if (container.state != State::kPaused)
    throw AgentError(C::kFailedPrecondition, "container " + container.id + ": not paused");
  cgroup_of(container).freeze(false);
  container.state = container.init->exit_status ? State::kStopped : State::kRunning;
  spdlog::info("container {}: resumed", container.id);
  return nlohmann::json::object();
}

nlohmann::json Engine::resize(const protocol::ResizePty& request) {
  Container& container = find(request.container_id);
  Process& process = find_process(container, request.exec_id);
  if (!process.pty_master) {
    throw AgentError(
        C::kFailedPrecondition,
        "process " + process_name(container.id, request.exec_id) + ": has no terminal");
  }
  resize_pty(process.pty_master.get(), static_cast<unsigned short>(request.rows),
             static_cast<unsigned short>(request.cols));
  return nlohmann::json::object();
}

nlohmann::json Engine::update(const protocol::UpdateContainer& request) {
  Container& container = find(request.container_id);
  spec::ResourcesSpec resources =
      parse_request([&] { return spec::parse_resources(request.resources, "body.resources"); });
  cgroup_of(container).update(resources);
  spdlog::info("container {}: resources updated", container.id);
  return nlohmann::json::object();
}

nlohmann::json Engine::stats(const protocol::StatsContainer& request) {
  Container& container = find(request.container_id);
  return to_json(read_cgroup_stats(cgroup_of(container).path()));
}

std::vector<pid_t> Engine::live_processes(const Container& container) const {
  if (container.cgroup) return container.cgroup->processes();
  const spec::LinuxSpec& linux_spec = container.spec.linux_spec;
  // Only a PID namespace of its own: a joined one holds other containers' processes too.
  if (linux_spec.has(spec::NamespaceType::kPid) &&
      !linux_spec.namespace_paths.contains(spec::NamespaceType::kPid) &&
      !container.init->exit_status) {
    return pid_namespace_processes(container.init->pid);
  }
  std::vector<pid_t> pids;
  if (!container.init->exit_status) pids.push_back(container.init->pid);
  for (const auto& [_, p] : container.execs) {
    if (!p->exit_status) pids.push_back(p->pid);
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

nlohmann::json Engine::list_processes(const protocol::ListProcesses& request) {
  Container& container = find(request.container_id);
  nlohmann::json list = nlohmann::json::array();
  for (pid_t pid : live_processes(container)) {
    nlohmann::json entry = {{"pid", pid}};
    if (pid == container.init->pid && !container.init->exit_status) entry["exec_id"] = "";
    for (const auto& [exec_id, p] : container.execs) {
      if (pid == p->pid && !p->exit_status) entry["exec_id"] = exec_id;
    }
    entry["args"] = process_args(pid);
    list.push_back(std::move(entry));
  }
  return {{"processes", std::move(list)}};
}

nlohmann::json Engine::create_sandbox(const protocol::CreateSandbox& request) {
  check_not_destroyed();
  if (sandbox_) throw AgentError(C::kAlreadyExists, "sandbox " + sandbox_id_ + ": already exists");
  std::vector<spec::NamespaceType> types;
  for (const std::string& name : request.shared) {
    if (name == "network") types.push_back(spec::NamespaceType::kNetwork);
    if (name == "ipc") types.push_back(spec::NamespaceType::kIpc);
    if (name == "uts") types.push_back(spec::NamespaceType::kUts);
  }
  bool shares_network =
      std::find(types.begin(), types.end(), spec::NamespaceType::kNetwork) != types.end();
  if (shares_network && network_netns_) {
    throw AgentError(C::kFailedPrecondition,
                     "body.shared: the network is already configured in the VM's namespace "
                     "(send CreateSandbox before ConfigureNetwork)");
  }
  sandbox_ = SandboxNamespaces::create(types, request.hostname.value_or(""));
  sandbox_id_ = request.sandbox_id;
  spdlog::info("sandbox {}: created ({} shared namespace(s))", sandbox_id_, types.size());
  return nlohmann::json::object();
}

nlohmann::json Engine::configure_network(const protocol::ConfigureNetwork& request) {
  check_not_destroyed();
  if (network_netns_) throw AgentError(C::kFailedPrecondition, "network: already configured");
  int pod = sandbox_ ? sandbox_->fd_of(spec::NamespaceType::kNetwork) : -1;
  UniqueFd target(pod >= 0 ? ::fcntl(pod, F_DUPFD_CLOEXEC, 3)
                           : ::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!target) throw_errno("open the network namespace to configure");
  net::apply_network(request, pod >= 0 ? target.get() : -1);
  network_netns_ = std::move(target);
  spdlog::info("network: configured {} interface(s), {} route(s) in {}", request.interfaces.size(),
               request.routes.size(), pod >= 0 ? "the pod's namespace" : "the VM's namespace");
  return nlohmann::json::object();
}

nlohmann::json Engine::destroy_sandbox() {
  destroyed_ = true;
  for (auto& [id, container] : containers_) {
    if (container->state == State::kPaused) {
      try {
        container->cgroup->freeze(false);
      } catch (const Error& e) {
        spdlog::warn("container {}: {}", id, e.what());  // SIGKILL reaches frozen tasks anyway
      }
    }
    kill_all(*container);
    oom_watcher_.remove(id);
  }
  std::size_t count = containers_.size();
  containers_.clear();  // unmounts, removes cgroups and scratch space
  sandbox_.reset();
  spdlog::info("sandbox destroyed ({} container(s) removed)", count);
  return nlohmann::json::object();
}

void Engine::wait_oom(OomCallback done) {
  if (oom_events_.empty()) {
    oom_waiters_.push_back(std::move(done));
  } else if (done(oom_events_.front())) {
    oom_events_.pop_front();  // else the client left; keep it for the next one
  }
}

void Engine::on_oom(const std::string& container_id) {
  while (!oom_waiters_.empty()) {
    OomCallback waiter = std::move(oom_waiters_.front());
    oom_waiters_.pop_front();
    if (waiter(container_id)) return;
  }
  if (oom_events_.size() >= kMaxQueuedOomEvents) oom_events_.pop_front();
  oom_events_.push_back(container_id);
}

void Engine::finish_process(Process& process, int wait_status) {
  process.exit_status = exit_status_of(wait_status);
  auto waiters = std::move(process.waiters);
  process.waiters.clear();
  for (auto& done : waiters) done(*process.exit_status);
}

void Engine::on_exit(pid_t pid, int wait_status) {
  for (auto& [id, container] : containers_) {
    std::vector<Process*> processes{container->init.get()};
    for (auto& [_, p] : container->execs) processes.push_back(p.get());
    for (Process* process : processes) {
      if (process->pid != pid || process->exit_status) continue;
      finish_process(*process, wait_status);
      spdlog::info("process {}: exited with status {}", process_name(id, process->exec_id),
                   *process->exit_status);
      if (process == container->init.get() && container->state != State::kPaused) {
        container->state = State::kStopped;
      }
      return;
    }
  }
  spdlog::debug("reaped pid {} (not a container process)", pid);
}

void Engine::kill_all(Container& container) {
  container.pending_start.reset();
  abandon_start(container);
  std::vector<Process*> processes{container.init.get()};
  for (auto& [_, p] : container.execs) processes.push_back(p.get());
  auto alive = [&] {
    for (Process* p : processes) {
      if (!p->exit_status && p->pid > 0) return true;
    }
    return false;
  };
  for (Process* process : processes) {
    if (!process->exit_status && process->pid > 0) ::kill(process->pid, SIGKILL);
  }
  // Processes the agent did not start (background jobs of a container without a PID namespace
  // of its own) would keep the cgroup busy: kill them too.
  if (container.cgroup) {
    try {
      container.cgroup->kill();
    } catch (const Error& e) {
      spdlog::warn("container {}: {}", container.id, e.what());
    }
  }
  // Reap any child, not just these: a killed PID-namespace init is not reapable until every
  // other member of its namespace has been reaped, and those may be execs or other
  // containers' processes (pods), all children of the agent.
  while (alive()) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) {
      spdlog::error("container {}: waiting for its processes: {}", container.id,
                    std::strerror(errno));
      break;
    }
    on_exit(pid, status);
  }
  // The other members are the agent's children only as PID 1 (orphans); elsewhere another
  // reaper collects them. Give them a moment to go, so the cgroup can be removed.
  for (int i = 0; container.cgroup && i < 1000; ++i) {
    if (container.cgroup->processes().empty()) break;
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      on_exit(pid, status);
    } else {
      ::usleep(1000);
    }
  }
  container.state = State::kStopped;
}

}  // namespace kvrun::agent
