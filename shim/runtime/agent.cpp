#include "shim/runtime/agent.h"

#include "common/error.h"
#include "shim/sandbox/agent_connect.h"

namespace kvrun::runtime {
namespace {

UniqueFd open_connection(const state::ContainerState& container,
                         std::chrono::milliseconds retry_for) {
  if (container.agent_address.empty())
    throw Error("container " + container.id + " has no sandbox yet");
  if (retry_for > std::chrono::milliseconds::zero())
    return sandbox::connect_agent_waiting(container.agent_address, retry_for);
  return sandbox::connect_agent(container.agent_address);
}

}  // namespace

UniqueFd connect_to_agent(const state::ContainerState& container,
                          std::chrono::milliseconds io_timeout,
                          std::chrono::milliseconds retry_for) {
  UniqueFd fd = open_connection(container, retry_for);
  sandbox::set_io_timeout(fd.get(), io_timeout);
  return fd;
}

protocol::Client agent_client(const state::ContainerState& container,
                              std::chrono::milliseconds call_timeout,
                              std::chrono::milliseconds retry_for) {
  return protocol::Client(open_connection(container, retry_for),
                          call_timeout > std::chrono::milliseconds::zero()
                              ? call_timeout
                              : protocol::kDefaultCallTimeout);
}

}  // namespace kvrun::runtime
