// runc's -ENOSYS stub: a deny-by-default profile answers system calls newer than every call
// it names with ENOSYS instead of its default errno, so that libc falls back to the older call
// (clone3 -> clone, faccessat2 -> faccessat) on a kernel newer than the profile. runc prepends
// these instructions to libseccomp's program; so does the agent, with the same rules: only for
// the spec's listed architectures, and not when the default action lets calls through
// (ALLOW, LOG, TRACE).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "spec/spec.h"

namespace kvrun::agent {

// The instructions to run before the filter's own, ending in a jump to its first; empty when
// the profile needs none. `arches` are the SCMP_ARCH_* tokens of spec.architectures.
std::vector<sock_filter> enosys_stub(const spec::SeccompSpec& spec,
                                     const std::vector<std::uint32_t>& arches);

}  // namespace kvrun::agent
