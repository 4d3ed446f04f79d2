// Attributes of the process about to exec that runc 1.2 sets in its init: scheduling policy,
// I/O priority and execution domain. Each is one syscall on the calling process; run while
// still privileged (a realtime policy or class needs CAP_SYS_NICE / CAP_SYS_ADMIN).
#pragma once

#include "spec/spec.h"

namespace kvrun::agent {

// sched_setattr(2) on the caller. Throws Error naming the policy and errno.
void apply_scheduler(const spec::SchedulerSpec& scheduler);
// ioprio_set(2) on the caller.
void apply_io_priority(const spec::IoPrioritySpec& io);
// personality(2): kept across execve.
void apply_personality(unsigned long persona);

}  // namespace kvrun::agent
