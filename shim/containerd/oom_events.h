// OOM kills in a task's sandbox become containerd's /tasks/oom events: a thread waits on the
// agent's GetOomEvent (answered when the guest kernel OOM-kills a process of a container) and
// forwards each kill of this task's container.
#pragma once

#include <filesystem>
#include <string>

#include "shim/containerd/events.h"

namespace kvrun::containerd {

// Starts a detached thread that lasts as long as the agent's connection: it ends when the
// sandbox goes away. `events` must outlive the process's use of it (the daemon's does).
void watch_oom_events(const std::filesystem::path& kvrun_root, const std::string& id,
                      EventPublisher& events);

}  // namespace kvrun::containerd
