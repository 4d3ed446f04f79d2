#include "shim/containerd/agent_link.h"

#include "common/error.h"
#include "common/error_code.h"
#include "shim/sandbox/agent_connect.h"
#include "shim/state/state_dir.h"

namespace kvrun::containerd {

protocol::Client connect_task_agent(const std::filesystem::path& kvrun_root, const std::string& id,
                                    std::chrono::milliseconds io_timeout) {
  state::StateDir states(kvrun_root);
  auto current = state::load_current_state(states.open(id));
  // Its processes have gone: containerd's NotFound for a signal or a resize.
  if (current.status == state::Status::kStopped)
    throw CodedError(ErrorCode::kNotFound, "container not running");
  auto connection = sandbox::connect_agent_waiting(current.agent_address, std::chrono::seconds(5));
  // Calls that wait for an event (GetOomEvent) are unbounded whatever the timeout (client.h).
  return protocol::Client(std::move(connection), io_timeout > std::chrono::milliseconds::zero()
                                                     ? io_timeout
                                                     : protocol::kDefaultCallTimeout);
}

}  // namespace kvrun::containerd
