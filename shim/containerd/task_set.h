// The tasks one shim daemon serves: the one it was started for, and those of a pod's containers
// that `start` pointed at this shim (a pod shares its sandbox container's shim, as it shares
// its VM). Handlers hold a task by shared_ptr for the length of a request.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "shim/containerd/events.h"
#include "shim/containerd/reaper.h"
#include "shim/containerd/task.h"

namespace kvrun::containerd {

class TaskSet {
 public:
  // `first`: the task the daemon was started for, in the daemon's own bundle.
  TaskSet(TaskOptions first, Reaper& reaper, EventPublisher& events);

  // The task `id`. Throws RpcError(NotFound).
  std::shared_ptr<Task> get(const std::string& id) const;
  // For Create: the task `id`, made for `bundle` if this shim has none of that id yet (or only
  // a deleted one). Throws RpcError(InvalidArgument) for a bundle that is no directory.
  std::shared_ptr<Task> for_create(const std::string& id, const std::filesystem::path& bundle);
  // True once every task has been deleted (or never created): Shutdown may end the shim.
  bool finished() const;
  // Best effort for a shim told to go while containers still exist.
  void force_cleanup();

 private:
  TaskOptions first_;
  Reaper& reaper_;
  EventPublisher& events_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Task>> tasks_;
};

}  // namespace kvrun::containerd
