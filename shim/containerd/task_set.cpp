#include "shim/containerd/task_set.h"

#include "shim/containerd/ttrpc/status.h"

namespace kvrun::containerd {

using ttrpc::Code;
using ttrpc::RpcError;

TaskSet::TaskSet(TaskOptions first, Reaper& reaper, EventPublisher& events)
    : first_(std::move(first)), reaper_(reaper), events_(events) {
  tasks_.emplace(first_.id, std::make_shared<Task>(first_, reaper_, events_));
}

std::shared_ptr<Task> TaskSet::get(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) {
    throw RpcError(Code::kNotFound, "task " + id + " is not served by this shim");
  }
  return it->second;
}

std::shared_ptr<Task> TaskSet::for_create(const std::string& id,
                                          const std::filesystem::path& bundle) {
  std::lock_guard lock(mutex_);
  if (auto it = tasks_.find(id); it != tasks_.end()) {
    // A deleted container's id may come back for a new one; the daemon's own task's never does.
    bool replaceable = id != first_.id && it->second->finished();
    if (!replaceable) return it->second;
  }
  // A pod's container, in the bundle containerd made for it.
  std::error_code ec;
  if (!bundle.is_absolute() || !std::filesystem::is_directory(bundle, ec)) {
    throw RpcError(Code::kInvalidArgument,
                   "task " + id + ": bundle \"" + bundle.string() + "\" is no directory");
  }
  TaskOptions options = first_;
  options.id = id;
  options.bundle = bundle;
  auto task = std::make_shared<Task>(options, reaper_, events_);
  tasks_[id] = task;
  return task;
}

bool TaskSet::finished() const {
  std::lock_guard lock(mutex_);
  for (const auto& [id, task] : tasks_) {
    if (!task->finished()) return false;
  }
  return true;
}

void TaskSet::force_cleanup() {
  std::map<std::string, std::shared_ptr<Task>> tasks;
  {
    std::lock_guard lock(mutex_);
    tasks = tasks_;
  }
  for (auto& [id, task] : tasks) task->force_cleanup();
}

}  // namespace kvrun::containerd
