// Talking to a task's agent directly with the protocol client, for what the kvrun CLI has no
// command for (metrics, OOM events, signals to one exec's guest process). The agent's address
// comes from kvrun's state for the container.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "protocol/client.h"

namespace kvrun::containerd {

// A client for the agent of the running container `id` in kvrun's state root. io_timeout
// bounds each call (0: protocol::kDefaultCallTimeout); requests answered by an event
// (GetOomEvent) wait for it without a bound and end when the sandbox does. Throws Error
// ("container not running" once it has stopped).
protocol::Client connect_task_agent(const std::filesystem::path& kvrun_root, const std::string& id,
                                    std::chrono::milliseconds io_timeout);

}  // namespace kvrun::containerd
