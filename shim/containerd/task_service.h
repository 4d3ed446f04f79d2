// containerd.task.v2.Task over ttrpc: decodes each request, calls the task it names, encodes
// the reply. Methods kvrun cannot do (Checkpoint) answer Unimplemented with a sentence saying so.
#pragma once

#include <functional>

#include "shim/containerd/task_set.h"
#include "shim/containerd/ttrpc/server.h"

namespace kvrun::containerd {

inline constexpr const char* kTaskService = "containerd.task.v2.Task";

// shutdown is called when Shutdown may end the shim (every task is deleted, or `now`).
void register_task_service(ttrpc::Registry& registry, TaskSet& tasks,
                           std::function<void()> shutdown);

}  // namespace kvrun::containerd
