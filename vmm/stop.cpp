#include "vmm/stop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <utility>

#include "common/error.h"

namespace kvrun::vmm {

int exit_status(const StopOutcome& outcome) {
  switch (outcome.cause) {
    case StopCause::kGuestExit:
      return outcome.value & 0xff;
    case StopCause::kReboot:
      return 0;
    case StopCause::kPanic:
      return 125;
    case StopCause::kTimeout:
      return 124;
    case StopCause::kSignal:
      return 128 + outcome.value;
    case StopCause::kError:
      return 1;
  }
  return 1;
}

std::optional<std::string> stop_message(const StopOutcome& outcome) {
  switch (outcome.cause) {
    case StopCause::kPanic:
      return "guest kernel panic: " + outcome.detail;
    case StopCause::kTimeout:
      return "guest did not stop within " + std::to_string(outcome.value) + " s";
    case StopCause::kError:
      return outcome.detail;
    case StopCause::kGuestExit:
    case StopCause::kReboot:
    case StopCause::kSignal:
      return std::nullopt;
  }
  return std::nullopt;
}

VmStop::VmStop() : event_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_) throw_errno("eventfd");
}

bool VmStop::request(StopOutcome outcome) {
  {
    std::lock_guard lock(mutex_);
    if (outcome_) return false;
    outcome_ = std::move(outcome);
    requested_.store(true);
  }
  // Cannot fail in a way that matters: the counter is far from overflow and the fd is ours.
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(event_.get(), &one, sizeof(one));
  return true;
}

std::optional<StopOutcome> VmStop::outcome() const {
  std::lock_guard lock(mutex_);
  return outcome_;
}

}  // namespace kvrun::vmm
