// A small wrapper over the kernel's capability interface (<linux/capability.h>): names, and the
// calls that shape a process's five capability sets before exec.
#pragma once

#include <optional>
#include <string_view>

#include "agent/container/spec.h"

namespace kvrun::agent {

// "CAP_NET_ADMIN" -> 12; nullopt for names this kernel header does not know.
std::optional<int> capability_from_name(std::string_view name);

// Drops every capability not in spec.bounding from the bounding set. Needs CAP_SETPCAP, so it
// runs before the process switches to its user.
void drop_bounding_set(const CapabilitySpec& spec);
// Sets effective/permitted/inheritable with capset(2), then raises the ambient set. Runs after
// setuid (with PR_SET_KEEPCAPS held) so a non-root user keeps exactly what the spec grants.
void apply_capabilities(const CapabilitySpec& spec);

}  // namespace kvrun::agent
