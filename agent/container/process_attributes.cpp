#include "agent/container/process_attributes.h"

#include <sys/personality.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "common/error.h"

namespace kvrun::agent {
namespace {

// The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER1); <linux/sched/types.h> clashes with
// glibc's <sched.h>.
struct SchedAttr {
  std::uint32_t size;
  std::uint32_t sched_policy;
  std::uint64_t sched_flags;
  std::int32_t sched_nice;
  std::uint32_t sched_priority;
  std::uint64_t sched_runtime, sched_deadline, sched_period;
  std::uint32_t sched_util_min, sched_util_max;
};
static_assert(sizeof(SchedAttr) == 56);

constexpr int kIoprioWhoProcess = 1;
constexpr int kIoprioClassShift = 13;

}  // namespace

void apply_scheduler(const spec::SchedulerSpec& s) {
  SchedAttr attr{};
  attr.size = sizeof attr;
  attr.sched_policy = s.policy;
  attr.sched_flags = s.flags;
  attr.sched_nice = s.nice;
  attr.sched_priority = s.priority;
  attr.sched_runtime = s.runtime;
  attr.sched_deadline = s.deadline;
  attr.sched_period = s.period;
  if (::syscall(SYS_sched_setattr, 0, &attr, 0) != 0) {
    throw_errno("sched_setattr " + s.policy_name + " nice " + std::to_string(s.nice) +
                " priority " + std::to_string(s.priority));
  }
}

void apply_io_priority(const spec::IoPrioritySpec& io) {
  int value = (static_cast<int>(io.io_class) << kIoprioClassShift) | io.priority;
  if (::syscall(SYS_ioprio_set, kIoprioWhoProcess, 0, value) != 0) {
    throw_errno("ioprio_set class " + std::to_string(static_cast<int>(io.io_class)) + " priority " +
                std::to_string(io.priority));
  }
}

void apply_personality(unsigned long persona) {
  if (::personality(persona) < 0) throw_errno("personality " + std::to_string(persona));
}

}  // namespace kvrun::agent
