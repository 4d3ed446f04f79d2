#include "shim/containerd/oom_events.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "common/error.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "shim/containerd/agent_link.h"

namespace kvrun::containerd {

void watch_oom_events(const std::filesystem::path& kvrun_root, const std::string& id,
                      EventPublisher& events) {
  std::thread([kvrun_root, id, &events] {
    try {
      // No I/O timeout: the agent answers GetOomEvent only when a kill happens.
      auto client = connect_task_agent(kvrun_root, id, std::chrono::milliseconds(0));
      for (;;) {
        // The decoder has checked the guest's reply: a container id (replies.h).
        std::string container = client.call(protocol::GetOomEvent{}).container_id;
        if (container != id) continue;  // another container of the same sandbox
        spdlog::info("{}: a process was killed for lack of memory", id);
        ::containerd::events::TaskOOM event;
        event.set_container_id(id);
        events.publish("/tasks/oom", event);
      }
    } catch (const std::exception& e) {
      // The usual end: the sandbox stopped and the agent's connection closed.
      spdlog::debug("{}: OOM watch ended: {}", id, e.what());
    }
  }).detach();
}

}  // namespace kvrun::containerd
