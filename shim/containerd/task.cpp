#include "shim/containerd/task.h"

#include <google/protobuf/util/time_util.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "protocol/messages.h"
#include "shim/containerd/agent_link.h"
#include "shim/containerd/bundle_spec.h"
#include "shim/containerd/console_socket.h"
#include "shim/containerd/oom_events.h"
#include "shim/containerd/rootfs_mounts.h"
#include "shim/containerd/rpc_errors.h"
#include "shim/containerd/stats.h"
#include "shim/containerd/ttrpc/status.h"

namespace kvrun::containerd {
namespace fs = std::filesystem;
namespace events = ::containerd::events;
using ttrpc::Code;
using ttrpc::RpcError;

namespace {

google::protobuf::Timestamp timestamp(std::chrono::system_clock::time_point at) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  return google::protobuf::util::TimeUtil::NanosecondsToTimestamp(ns);
}

::containerd::v1::types::Status to_api(ProcessStatus status) {
  switch (status) {
    case ProcessStatus::kCreated:
      return ::containerd::v1::types::CREATED;
    case ProcessStatus::kRunning:
      return ::containerd::v1::types::RUNNING;
    case ProcessStatus::kPaused:
      return ::containerd::v1::types::PAUSED;
    case ProcessStatus::kStopped:
      return ::containerd::v1::types::STOPPED;
  }
  return ::containerd::v1::types::UNKNOWN;
}

// Exec ids become file names in the bundle: the agent's id rules keep them safe.
void check_exec_id(const std::string& exec_id) {
  try {
    protocol::check_id(exec_id, "exec id", false);
  } catch (const Error& e) {
    throw RpcError(Code::kInvalidArgument, e.what());
  }
}

// A file kvrun reads (--process, --resources).
void write_json(const fs::path& path, const nlohmann::json& json) {
  std::ofstream out(path, std::ios::trunc);
  out << json.dump();
  if (!out.flush()) throw RpcError(Code::kInternal, "cannot write " + path.string());
}

}  // namespace

Task::Task(TaskOptions options, Reaper& reaper, EventPublisher& events)
    : options_(std::move(options)),
      reaper_(reaper),
      events_(events),
      kvrun_(reaper, options_.kvrun, options_.kvrun_root, options_.bundle) {}

void Task::check_id(const std::string& id) const {
  if (id != options_.id) {
    throw RpcError(Code::kNotFound,
                   "task " + id + " is not served by this shim (" + options_.id + ")");
  }
}

pid_t Task::read_pid_file(const fs::path& path) const {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 1 || pid > 4194304) {
    throw RpcError(Code::kInternal, path.string() + ": no valid PID");
  }
  return static_cast<pid_t>(pid);
}

// kvrun create / exec for one process. A terminal process gets --console-socket (before the
// container id, kvrun's last argument): kvrun's monitor sends the terminal's host end there,
// and it is joined to the process's FIFOs; kvrun's own stdio is then /dev/null.
std::unique_ptr<ProcessTerminal> Task::run_process_command(std::vector<std::string> args,
                                                           bool terminal,
                                                           const std::array<int, 3>& stdio) {
  if (!terminal) {
    kvrun_.run(args, stdio);
    return nullptr;
  }
  ConsoleSocket console;
  args.insert(args.end() - 1, {"--console-socket", console.path().string()});
  kvrun_.run(args, {-1, -1, -1});
  return std::make_unique<ProcessTerminal>(console.receive(std::chrono::seconds(10)), stdio[0],
                                           stdio[1]);
}

void Task::watch_exit(const std::string& exec_id, pid_t pid) {
  std::thread([this, exec_id, pid] {
    int status = reaper_.wait(pid);
    try {
      // All of a terminal's output before its end, and both before the exit event.
      if (auto terminal = processes_.take_terminal(exec_id)) {
        terminal->drain(std::chrono::seconds(5));
      }
      ProcessRecord record = processes_.set_exited(exec_id, status);
      spdlog::info("{} {} exited with status {}", options_.id, exec_id.empty() ? "init" : exec_id,
                   status);
      events::TaskExit exit;
      exit.set_container_id(options_.id);
      exit.set_id(exec_id.empty() ? options_.id : exec_id);
      exit.set_pid(static_cast<std::uint32_t>(pid));
      exit.set_exit_status(static_cast<std::uint32_t>(status));
      *exit.mutable_exited_at() = timestamp(record.exit->at);
      events_.publish("/tasks/exit", exit);
    } catch (const std::exception& e) {
      spdlog::warn("exit of {} (PID {}): {}", exec_id, pid, e.what());
    }
  }).detach();
}

api::CreateTaskResponse Task::create(const api::CreateTaskRequest& request) {
  check_id(request.id());
  if (!request.checkpoint().empty()) {
    throw RpcError(Code::kUnimplemented, "kvrun shim: checkpoint/restore is not supported");
  }
  std::lock_guard lifecycle(lifecycle_);
  if (created_) throw RpcError(Code::kAlreadyExists, "task " + request.id() + " already exists");

  std::vector<MountSpec> mounts;
  for (const auto& m : request.rootfs()) {
    mounts.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  fs::path rootfs = options_.bundle / "rootfs";
  if (!mounts.empty()) {
    mount_rootfs(mounts, rootfs);
    rootfs_mounted_ = true;
  }
  // What a failure after `kvrun create` leaves (kvrun cleans up after its own failures).
  auto undo_create = [&] {
    try {
      kvrun_.run({"delete", "--force", options_.id});
    } catch (const Error&) {
    }
    if (rootfs_mounted_) unmount_rootfs(rootfs);
    rootfs_mounted_ = false;
  };
  ProcessRecord record;
  record.paths = {request.stdin(), request.stdout(), request.stderr()};
  record.terminal = request.terminal();
  try {
    adjust_bundle_spec(options_.bundle);
    record.stdio = std::make_unique<ProcessStdio>(record.paths);
    fs::path pid_file = options_.bundle / "init.pid";
    fs::remove(pid_file);
    record.terminal_io = run_process_command(
        {"create", "--bundle", options_.bundle.string(), "--pid-file", pid_file.string(),
         options_.id},
        record.terminal, {record.stdio->in(), record.stdio->out(), record.stdio->err()});
    record.pid = read_pid_file(pid_file);
  } catch (const RpcError&) {
    undo_create();
    throw;
  } catch (const Error& e) {
    undo_create();
    throw RpcError(Code::kUnknown, e.what());
  }
  record.stdio->release_child_ends();
  pid_t pid = record.pid;
  processes_.add(std::move(record));
  created_ = true;
  watch_exit("", pid);
  watch_oom_events(options_.kvrun_root, options_.id, events_);

  events::TaskCreate event;
  event.set_container_id(options_.id);
  event.set_bundle(options_.bundle.string());
  *event.mutable_rootfs() = request.rootfs();
  event.mutable_io()->set_stdin(request.stdin());
  event.mutable_io()->set_stdout(request.stdout());
  event.mutable_io()->set_stderr(request.stderr());
  event.set_pid(static_cast<std::uint32_t>(pid));
  events_.publish("/tasks/create", event);

  api::CreateTaskResponse response;
  response.set_pid(static_cast<std::uint32_t>(pid));
  return response;
}

api::StartResponse Task::start(const api::StartRequest& request) {
  check_id(request.id());
  std::lock_guard lifecycle(lifecycle_);
  const std::string& exec_id = request.exec_id();
  ProcessRecord record = processes_.snapshot(exec_id);
  if (record.status != ProcessStatus::kCreated || record.exit) {
    throw RpcError(Code::kFailedPrecondition,
                   (exec_id.empty() ? "task" : "process " + exec_id) + " was already started");
  }
  api::StartResponse response;
  if (exec_id.empty()) {
    try {
      kvrun_.run({"start", options_.id});
    } catch (const Error& e) {
      throw_rpc_error(e);
    }
    processes_.set_started("", record.pid);
    events::TaskStart event;
    event.set_container_id(options_.id);
    event.set_pid(static_cast<std::uint32_t>(record.pid));
    events_.publish("/tasks/start", event);
    response.set_pid(static_cast<std::uint32_t>(record.pid));
    return response;
  }

  fs::path pid_file = options_.bundle / ("exec-" + exec_id + ".pid");
  pid_t pid = 0;
  try {
    fs::remove(pid_file);
    // The agent knows the process by containerd's exec id, so Kill can signal it there.
    auto terminal = run_process_command({"exec", "--detach", "--pid-file", pid_file.string(),
                                         "--process", record.spec_path, "--exec-id", exec_id,
                                         options_.id},
                                        record.terminal, processes_.child_stdio(exec_id));
    pid = read_pid_file(pid_file);
    if (terminal) processes_.attach_terminal(exec_id, std::move(terminal));
  } catch (const RpcError&) {
    throw;
  } catch (const Error& e) {
    throw_rpc_error(e);
  }
  processes_.release_child_ends(exec_id);
  processes_.set_started(exec_id, pid);
  watch_exit(exec_id, pid);
  events::TaskExecStarted event;
  event.set_container_id(options_.id);
  event.set_exec_id(exec_id);
  event.set_pid(static_cast<std::uint32_t>(pid));
  events_.publish("/tasks/exec-started", event);
  response.set_pid(static_cast<std::uint32_t>(pid));
  return response;
}

void Task::exec(const api::ExecProcessRequest& request) {
  check_id(request.id());
  check_exec_id(request.exec_id());
  ProcessRecord init = processes_.snapshot("");
  if (init.exit)
    throw RpcError(Code::kFailedPrecondition, "container " + options_.id + " has exited");
  // The spec is the runtime-spec Process object as JSON; kvrun reads it with --process.
  auto process = nlohmann::json::parse(request.spec().value(), nullptr, false);
  if (!process.is_object()) {
    throw RpcError(Code::kInvalidArgument,
                   "exec " + request.exec_id() + ": spec is not a JSON object");
  }
  ProcessRecord record;
  record.exec_id = request.exec_id();
  record.paths = {request.stdin(), request.stdout(), request.stderr()};
  record.terminal = request.terminal();
  record.spec_path = (options_.bundle / ("exec-" + request.exec_id() + ".json")).string();
  write_json(record.spec_path, process);
  try {
    record.stdio = std::make_unique<ProcessStdio>(record.paths);
  } catch (const Error& e) {
    throw RpcError(Code::kInvalidArgument, e.what());
  }
  processes_.add(std::move(record));
  events::TaskExecAdded event;
  event.set_container_id(options_.id);
  event.set_exec_id(request.exec_id());
  events_.publish("/tasks/exec-added", event);
}

api::WaitResponse Task::wait(const api::WaitRequest& request) {
  check_id(request.id());
  ExitInfo exit = processes_.wait(request.exec_id());
  api::WaitResponse response;
  response.set_exit_status(static_cast<std::uint32_t>(exit.status));
  *response.mutable_exited_at() = timestamp(exit.at);
  return response;
}

void Task::kill(const api::KillRequest& request) {
  check_id(request.id());
  ProcessRecord record = processes_.snapshot(request.exec_id());
  if (record.exit) throw RpcError(Code::kNotFound, "process already finished");
  if (request.signal() == 0 || request.signal() >= 65) {
    throw RpcError(Code::kInvalidArgument,
                   "signal " + std::to_string(request.signal()) + " is out of range");
  }
  if (!request.exec_id().empty()) {
    // kvrun has no per-exec kill: the agent signals the guest process itself; its exit then
    // ends the exec's monitor, which is what containerd waits on.
    if (record.pid == 0) throw RpcError(Code::kFailedPrecondition, "process not started");
    try {
      auto agent = connect_task_agent(options_.kvrun_root, options_.id, std::chrono::seconds(10));
      agent.call(protocol::SignalProcess{options_.id, request.exec_id(),
                                         static_cast<int>(request.signal()), false});
    } catch (const Error& e) {
      throw_rpc_error(e);
    }
    return;
  }
  std::vector<std::string> args = {"kill"};
  if (request.all()) args.push_back("--all");
  args.push_back(options_.id);
  args.push_back(std::to_string(request.signal()));
  try {
    kvrun_.run(args);
  } catch (const Error& e) {
    throw_rpc_error(e);
  }
}

api::DeleteResponse Task::remove(const api::DeleteRequest& request) {
  check_id(request.id());
  std::lock_guard lifecycle(lifecycle_);
  const std::string& exec_id = request.exec_id();
  ProcessRecord record = processes_.snapshot(exec_id);
  bool live = record.status == ProcessStatus::kRunning || record.status == ProcessStatus::kPaused;
  if (live && !record.exit) {
    throw RpcError(
        Code::kFailedPrecondition,
        (exec_id.empty() ? "task " + options_.id : "process " + exec_id) + " is still running");
  }
  api::DeleteResponse response;
  response.set_pid(static_cast<std::uint32_t>(record.pid));
  std::error_code ec;
  if (!exec_id.empty()) {
    if (!record.exit) processes_.set_exited(exec_id, 128 + SIGKILL);  // never started
    record = processes_.remove(exec_id);
    fs::remove(record.spec_path, ec);
    fs::remove(options_.bundle / ("exec-" + exec_id + ".pid"), ec);
  } else {
    try {
      kvrun_.run({"delete", "--force", options_.id});
    } catch (const Error& e) {
      spdlog::warn("{}", e.what());  // the state may be gone already; the rest still cleans up
    }
    // A created, never started container's monitor ends with the delete.
    ExitInfo exit = processes_.wait("");
    record = processes_.remove("");
    record.exit = exit;
    if (rootfs_mounted_) unmount_rootfs(options_.bundle / "rootfs");
    rootfs_mounted_ = false;
    fs::remove(options_.bundle / "init.pid", ec);
    deleted_ = true;
  }
  response.set_exit_status(static_cast<std::uint32_t>(record.exit->status));
  *response.mutable_exited_at() = timestamp(record.exit->at);
  if (exec_id.empty()) {
    events::TaskDelete event;
    event.set_container_id(options_.id);
    event.set_pid(response.pid());
    event.set_exit_status(response.exit_status());
    *event.mutable_exited_at() = response.exited_at();
    event.set_id(options_.id);
    events_.publish("/tasks/delete", event);
  }
  return response;
}

api::StateResponse Task::state(const api::StateRequest& request) {
  check_id(request.id());
  ProcessRecord record = processes_.snapshot(request.exec_id());
  api::StateResponse response;
  response.set_id(request.exec_id().empty() ? options_.id : request.exec_id());
  response.set_bundle(options_.bundle.string());
  response.set_pid(static_cast<std::uint32_t>(record.pid));
  response.set_status(to_api(record.status));
  response.set_stdin(record.paths.stdin_path);
  response.set_stdout(record.paths.stdout_path);
  response.set_stderr(record.paths.stderr_path);
  response.set_terminal(record.terminal);
  response.set_exec_id(request.exec_id());
  if (record.exit) {
    response.set_exit_status(static_cast<std::uint32_t>(record.exit->status));
    *response.mutable_exited_at() = timestamp(record.exit->at);
  }
  return response;
}

api::PidsResponse Task::pids(const api::PidsRequest& request) {
  check_id(request.id());
  // The container's processes live in the guest; what the host has are their monitors.
  api::PidsResponse response;
  for (const auto& record : processes_.snapshot_all()) {
    if (record.pid == 0 || record.exit) continue;
    response.add_processes()->set_pid(static_cast<std::uint32_t>(record.pid));
  }
  return response;
}

void Task::pause(const api::PauseRequest& request) {
  check_id(request.id());
  std::lock_guard lifecycle(lifecycle_);
  try {
    kvrun_.run({"pause", options_.id});
  } catch (const Error& e) {
    throw_rpc_error(e);
  }
  processes_.set_status("", ProcessStatus::kPaused);
  events::TaskPaused event;
  event.set_container_id(options_.id);
  events_.publish("/tasks/paused", event);
}

void Task::resume(const api::ResumeRequest& request) {
  check_id(request.id());
  std::lock_guard lifecycle(lifecycle_);
  try {
    kvrun_.run({"resume", options_.id});
  } catch (const Error& e) {
    throw_rpc_error(e);
  }
  processes_.set_status("", ProcessStatus::kRunning);
  events::TaskResumed event;
  event.set_container_id(options_.id);
  events_.publish("/tasks/resumed", event);
}

void Task::close_io(const api::CloseIORequest& request) {
  check_id(request.id());
  if (request.stdin()) processes_.close_stdin(request.exec_id());
}

api::StatsResponse Task::stats(const api::StatsRequest& request) {
  check_id(request.id());
  io::containerd::cgroups::v2::Metrics metrics;
  try {
    metrics = container_metrics(options_.kvrun_root, options_.id);
  } catch (const Error& e) {
    throw_rpc_error(e);
  }
  api::StatsResponse response;
  response.mutable_stats()->set_type_url(metrics.GetTypeName());
  response.mutable_stats()->set_value(metrics.SerializeAsString());
  return response;
}

api::ConnectResponse Task::connect(const api::ConnectRequest& request) {
  check_id(request.id());
  api::ConnectResponse response;
  response.set_shim_pid(static_cast<std::uint32_t>(::getpid()));
  if (processes_.contains("")) {
    response.set_task_pid(static_cast<std::uint32_t>(processes_.snapshot("").pid));
  }
  response.set_version("kvrun");
  return response;
}

void Task::resize_pty(const api::ResizePtyRequest& request) {
  check_id(request.id());
  const std::string& exec_id = request.exec_id();
  ProcessRecord record = processes_.snapshot(exec_id);
  std::string what = exec_id.empty() ? "task " + options_.id : "process " + exec_id;
  if (!record.terminal) throw RpcError(Code::kFailedPrecondition, what + " has no terminal");
  if (record.exit) throw RpcError(Code::kNotFound, what + " has exited");
  constexpr std::uint32_t kMaxSide = 0xffff;  // a winsize field
  if (request.width() > kMaxSide || request.height() > kMaxSide) {
    throw RpcError(Code::kInvalidArgument, "terminal size " + std::to_string(request.width()) +
                                               "x" + std::to_string(request.height()) +
                                               " is out of range");
  }
  // The terminal that matters is the guest's pty: the host's only carries its bytes.
  try {
    auto agent = connect_task_agent(options_.kvrun_root, options_.id, std::chrono::seconds(10));
    agent.call(protocol::ResizePty{options_.id, exec_id, static_cast<int>(request.height()),
                                   static_cast<int>(request.width())});
  } catch (const Error& e) {
    throw_rpc_error(e);
  }
}

void Task::update(const api::UpdateTaskRequest& request) {
  check_id(request.id());
  // containerd sends the runtime-spec LinuxResources as JSON inside the Any.
  auto resources = nlohmann::json::parse(request.resources().value(), nullptr, false);
  if (!request.has_resources() || !resources.is_object()) {
    throw RpcError(Code::kInvalidArgument,
                   "Update: resources (" + request.resources().type_url() +
                       ") are not a JSON object of runtime-spec LinuxResources");
  }
  std::lock_guard lifecycle(lifecycle_);
  fs::path file = options_.bundle / "update-resources.json";
  write_json(file, resources);
  std::error_code ec;
  try {
    kvrun_.run({"update", "--resources", file.string(), options_.id});
  } catch (const Error& e) {
    fs::remove(file, ec);
    throw_rpc_error(e);
  }
  fs::remove(file, ec);
}

bool Task::finished() const { return !created_ || deleted_; }

void Task::force_cleanup() {
  std::lock_guard lifecycle(lifecycle_);
  if (!created_ || deleted_) return;
  try {
    kvrun_.run({"delete", "--force", options_.id});
  } catch (const Error& e) {
    spdlog::warn("{}", e.what());
  }
  if (rootfs_mounted_) unmount_rootfs(options_.bundle / "rootfs");
  rootfs_mounted_ = false;
  deleted_ = true;
}

}  // namespace kvrun::containerd
