#include "shim/containerd/task_service.h"

#include <google/protobuf/empty.pb.h>
#include <spdlog/spdlog.h>

#include <functional>
#include <type_traits>

namespace kvrun::containerd {
namespace {

using ttrpc::Code;
using ttrpc::RpcError;

template <typename Request>
Request decode(std::string_view payload, const char* method) {
  Request request;
  if (!request.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    throw RpcError(Code::kInvalidArgument, std::string(method) + ": undecodable request");
  }
  return request;
}

// Adds a method whose handler maps a decoded request to a reply message.
template <typename Request, typename Handler>
void add(ttrpc::Registry& registry, const char* method, Handler handler) {
  registry.add(kTaskService, method, [method, handler](std::string_view payload) {
    Request request = decode<Request>(payload, method);
    spdlog::debug("{} {}", method, request.ShortDebugString());
    try {
      return handler(request).SerializeAsString();
    } catch (const std::exception& e) {
      spdlog::info("{}: {}", method, e.what());
      throw;
    }
  });
}

google::protobuf::Empty empty() { return {}; }

// Adds a method of the task the request names (by its id): method(task, request) returns the
// reply, or nothing for an Empty one.
template <typename Request, typename Method>
void add_task_call(ttrpc::Registry& registry, TaskSet& tasks, const char* name, Method method) {
  add<Request>(registry, name, [&tasks, method](const Request& request) {
    std::shared_ptr<Task> task = tasks.get(request.id());
    if constexpr (std::is_void_v<std::invoke_result_t<Method, Task&, const Request&>>) {
      std::invoke(method, *task, request);
      return empty();
    } else {
      return std::invoke(method, *task, request);
    }
  });
}

[[noreturn]] void unsupported(const std::string& what) {
  throw RpcError(Code::kUnimplemented, "kvrun shim: " + what + " is not supported");
}

}  // namespace

void register_task_service(ttrpc::Registry& registry, TaskSet& tasks,
                           std::function<void()> shutdown) {
  add<api::CreateTaskRequest>(registry, "Create", [&tasks](const auto& r) {
    return tasks.for_create(r.id(), r.bundle())->create(r);
  });
  add_task_call<api::StartRequest>(registry, tasks, "Start", &Task::start);
  add_task_call<api::ExecProcessRequest>(registry, tasks, "Exec", &Task::exec);
  add_task_call<api::StateRequest>(registry, tasks, "State", &Task::state);
  add_task_call<api::PidsRequest>(registry, tasks, "Pids", &Task::pids);
  add_task_call<api::KillRequest>(registry, tasks, "Kill", &Task::kill);
  add_task_call<api::DeleteRequest>(registry, tasks, "Delete", &Task::remove);
  add_task_call<api::WaitRequest>(registry, tasks, "Wait", &Task::wait);
  add_task_call<api::PauseRequest>(registry, tasks, "Pause", &Task::pause);
  add_task_call<api::ResumeRequest>(registry, tasks, "Resume", &Task::resume);
  add_task_call<api::CloseIORequest>(registry, tasks, "CloseIO", &Task::close_io);
  add_task_call<api::StatsRequest>(registry, tasks, "Stats", &Task::stats);
  add_task_call<api::ConnectRequest>(registry, tasks, "Connect", &Task::connect);
  add_task_call<api::ResizePtyRequest>(registry, tasks, "ResizePty", &Task::resize_pty);
  add_task_call<api::UpdateTaskRequest>(registry, tasks, "Update", &Task::update);
  add<api::CheckpointTaskRequest>(
      registry, "Checkpoint",
      [](const auto&) -> google::protobuf::Empty { unsupported("Checkpoint"); });
  add<api::ShutdownRequest>(registry, "Shutdown", [&tasks, shutdown](const auto& r) {
    // As containerd's own shims: a shim with a task that still exists (a pod's other
    // containers included) stays, unless told `now`.
    if (r.now()) tasks.force_cleanup();
    if (r.now() || tasks.finished()) shutdown();
    return empty();
  });
}

}  // namespace kvrun::containerd
