// A small wrapper over the kernel's capability interface (<linux/capability.h>): the calls that
// shape a process's five capability sets before exec (names: spec/capability_names.h).
#pragma once

#include "spec/spec.h"

namespace kvrun::agent {

// Drops every capability not in spec.bounding from the bounding set. Needs CAP_SETPCAP, so it
// runs before the process switches to its user.
void drop_bounding_set(const spec::CapabilitySpec& spec);
// Sets effective/permitted/inheritable with capset(2), then raises the ambient set. Runs after
// setuid (with PR_SET_KEEPCAPS held) so a non-root user keeps exactly what the spec grants.
void apply_capabilities(const spec::CapabilitySpec& spec);

}  // namespace kvrun::agent
