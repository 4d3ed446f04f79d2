// A pod member's container in its sandbox's VM (monitor.h): the member's rootfs image goes into
// a free disk slot through kvrun-vmm's control socket, then CreateContainer goes to the
// sandbox's agent; at the member's end, or when any step after the attach failed, the member is
// removed (RemoveContainer) and then its slot emptied. Every step has a timeout, so a guest that
// accepts and never answers neither hangs the monitor nor keeps the slot.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "protocol/client.h"
#include "shim/sandbox/agent_connect.h"
#include "shim/sandbox/monitor.h"
#include "vmm/control/client.h"

namespace kvrun::sandbox {

struct MemberTimeouts {
  std::chrono::milliseconds connect = kConnectTimeout;
  std::chrono::milliseconds agent = protocol::kDefaultCallTimeout;           // each agent request
  std::chrono::milliseconds control = vmm::control::kDefaultRequestTimeout;  // each slot request
};

// Puts the image (image_fd >= 0: a VM) into a slot, sets `slot` and calls on_attached(slot)
// before anything else can fail, points request.rootfs at the slot's guest disk, and creates the
// container on `agent` (whose call timeout bounds it). Throws what failed; the caller then
// calls remove_from_pod with `slot` as it was left.
void create_in_pod(protocol::Client& agent, protocol::CreateContainer request, const PodMember& pod,
                   int image_fd, std::optional<unsigned>& slot,
                   const std::function<void(unsigned)>& on_attached,
                   const MemberTimeouts& timeouts = {});

// RemoveContainer (force) on a connection of its own, then the slot emptied, each bounded. The
// slot is emptied even when the agent does not answer: the guest may still have the disk
// mounted then, but a hung or hostile guest gets no hold on a host slot. Never throws: failures
// are logged (the sandbox may be gone).
void remove_from_pod(const PodMember& pod, const std::string& id, std::optional<unsigned> slot,
                     const MemberTimeouts& timeouts = {});

}  // namespace kvrun::sandbox
