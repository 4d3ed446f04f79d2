// The one way from a container's state to its agent: the address kvrun stored in state.json
// (sandbox/agent_connect.h has the address forms), a bound on every blocking call, and
// optionally a retry window for an agent that does not listen yet.
#pragma once

#include <chrono>

#include "common/unique_fd.h"
#include "protocol/client.h"
#include "shim/state/container_state.h"

namespace kvrun::runtime {

// Bounds each blocking read/write on the connection by io_timeout (0: none), so a hung guest
// makes a command fail instead of hanging; a protocol::Client made on it takes that bound.
// retry_for > 0 retries while the agent is not listening yet. Throws Error("container X has
// no sandbox yet") before the monitor has stored an address, Error/TimeoutError from connecting.
UniqueFd connect_to_agent(const state::ContainerState& container,
                          std::chrono::milliseconds io_timeout = std::chrono::seconds(10),
                          std::chrono::milliseconds retry_for = std::chrono::milliseconds(0));

// A typed client (Client::call) whose calls are bounded by call_timeout (0:
// protocol::kDefaultCallTimeout); requests answered by an event (GetOomEvent) wait for it
// without a bound (client.h). The socket itself has no I/O timeout. Retries as above.
protocol::Client agent_client(const state::ContainerState& container,
                              std::chrono::milliseconds call_timeout,
                              std::chrono::milliseconds retry_for = std::chrono::milliseconds(0));

}  // namespace kvrun::runtime
