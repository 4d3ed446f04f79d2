#include "shim/sandbox/pod_member.h"

#include <spdlog/spdlog.h>

#include "common/error.h"

namespace kvrun::sandbox {

void create_in_pod(protocol::Client& agent, protocol::CreateContainer request, const PodMember& pod,
                   int image_fd, std::optional<unsigned>& slot,
                   const std::function<void(unsigned)>& on_attached,
                   const MemberTimeouts& timeouts) {
  request.sandbox = true;
  if (image_fd >= 0) {
    slot = vmm::control::attach_disk(pod.control_socket, image_fd, timeouts.control);
    on_attached(*slot);
    // The sandbox's own rootfs is the VM's one --disk; the slots follow it.
    request.rootfs = vmm::control::guest_disk_name(1, *slot);
  }
  agent.call(request);
}

void remove_from_pod(const PodMember& pod, const std::string& id, std::optional<unsigned> slot,
                     const MemberTimeouts& timeouts) {
  try {
    protocol::Client client(connect_agent(pod.agent_address, timeouts.connect), timeouts.agent);
    client.call(protocol::RemoveContainer{id, true});
  } catch (const Error& e) {
    spdlog::warn("pod member {}: RemoveContainer: {}", id, e.what());
  }
  if (!slot) return;
  try {
    vmm::control::detach_disk(pod.control_socket, *slot, timeouts.control);
  } catch (const Error& e) {
    spdlog::warn("pod member {}: disk slot {}: {}", id, *slot, e.what());
  }
}

}  // namespace kvrun::sandbox
