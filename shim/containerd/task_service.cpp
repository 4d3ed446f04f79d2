#include "shim/containerd/task_service.h"

#include <google/protobuf/empty.pb.h>
#include <spdlog/spdlog.h>

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

[[noreturn]] void unsupported(const std::string& what) {
  throw RpcError(Code::kUnimplemented, "kvrun shim: " + what + " is not supported");
}

}  // namespace

void register_task_service(ttrpc::Registry& registry, Task& task, std::function<void()> shutdown) {
  add<api::CreateTaskRequest>(registry, "Create",
                              [&task](const auto& r) { return task.create(r); });
  add<api::StartRequest>(registry, "Start", [&task](const auto& r) { return task.start(r); });
  add<api::ExecProcessRequest>(registry, "Exec", [&task](const auto& r) {
    task.exec(r);
    return empty();
  });
  add<api::StateRequest>(registry, "State", [&task](const auto& r) { return task.state(r); });
  add<api::PidsRequest>(registry, "Pids", [&task](const auto& r) { return task.pids(r); });
  add<api::KillRequest>(registry, "Kill", [&task](const auto& r) {
    task.kill(r);
    return empty();
  });
  add<api::DeleteRequest>(registry, "Delete", [&task](const auto& r) { return task.remove(r); });
  add<api::WaitRequest>(registry, "Wait", [&task](const auto& r) { return task.wait(r); });
  add<api::PauseRequest>(registry, "Pause", [&task](const auto& r) {
    task.pause(r);
    return empty();
  });
  add<api::ResumeRequest>(registry, "Resume", [&task](const auto& r) {
    task.resume(r);
    return empty();
  });
  add<api::CloseIORequest>(registry, "CloseIO", [&task](const auto& r) {
    task.close_io(r);
    return empty();
  });
  add<api::StatsRequest>(registry, "Stats", [&task](const auto& r) { return task.stats(r); });
  add<api::ConnectRequest>(registry, "Connect", [&task](const auto& r) { return task.connect(r); });
  add<api::ResizePtyRequest>(registry, "ResizePty", [&task](const auto& r) {
    task.resize_pty(r);
    return empty();
  });
  add<api::UpdateTaskRequest>(registry, "Update", [&task](const auto& r) {
    task.update(r);
    return empty();
  });
  add<api::CheckpointTaskRequest>(
      registry, "Checkpoint",
      [](const auto&) -> google::protobuf::Empty { unsupported("Checkpoint"); });
  add<api::ShutdownRequest>(registry, "Shutdown", [&task, shutdown](const auto& r) {
    // As containerd's own shims: a shim whose task still exists stays, unless told `now`.
    if (r.now()) task.force_cleanup();
    if (r.now() || task.finished()) shutdown();
    return empty();
  });
}

}  // namespace kvrun::containerd
