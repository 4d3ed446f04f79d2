// Security stage: the last privileged steps of a process before exec, in the order that keeps
// each step possible: rlimits and oom_score_adj while still privileged, seccomp before losing
// CAP_SYS_ADMIN unless no_new_privs makes it loadable later, bounding set, user switch with
// capabilities kept, the spec's capability sets, no_new_privs, seccomp as late as possible.
#pragma once

#include "agent/container/seccomp.h"
#include "spec/spec.h"

namespace kvrun::agent {

// filter may be null (no seccomp in the spec).
void enter_security_context(const spec::ProcessSpec& process, const SeccompFilter* filter);

void apply_rlimits(const std::vector<spec::RlimitSpec>& rlimits);

}  // namespace kvrun::agent
