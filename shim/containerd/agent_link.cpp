#include "shim/containerd/agent_link.h"

#include "common/error.h"
#include "common/error_code.h"
#include "shim/runtime/agent.h"
#include "shim/runtime/container.h"

namespace kvrun::containerd {

protocol::Client connect_task_agent(const std::filesystem::path& kvrun_root, const std::string& id,
                                    std::chrono::milliseconds io_timeout) {
  auto container = runtime::find_container(kvrun_root, id);
  // Its processes have gone: containerd's NotFound for a signal or a resize.
  if (container.state.status == state::Status::kStopped)
    throw CodedError(ErrorCode::kNotFound, "container not running");
  return runtime::agent_client(container.state, io_timeout, std::chrono::seconds(5));
}

}  // namespace kvrun::containerd
