// How a VM ends. Any thread (a vCPU, a device, the event loop) may ask the VM to stop; the
// first request decides the outcome, and an eventfd wakes the event loop to carry it out.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>

#include "common/unique_fd.h"

namespace kvrun::vmm {

enum class StopCause {
  kGuestExit,  // the guest wrote a status to the exit port
  kReboot,     // i8042 reset, triple fault, KVM shutdown/reset event
  kPanic,      // the guest kernel reported a panic (pvpanic), or KVM a crash event
  kTimeout,    // --timeout expired
  kSignal,     // SIGINT / SIGTERM
  kError,      // the VMM failed
};

struct StopOutcome {
  StopCause cause;
  int value = 0;       // exit status (kGuestExit), signal number (kSignal), seconds (kTimeout)
  std::string detail;  // how the panic was reported (kPanic), "<context>: <reason>" (kError)
};

// kvrun-vmm's exit status contract: N, 0, 125, 124, 128 + signal, 1.
int exit_status(const StopOutcome& outcome);

// The line kvrun-vmm prints after "kvrun-vmm: " on stderr, if the outcome needs explaining.
std::optional<std::string> stop_message(const StopOutcome& outcome);

class VmStop {
 public:
  VmStop();  // throws kvrun::Error if the eventfd cannot be created

  // Records `outcome` if no stop was requested before and wakes fd(). Returns whether this
  // request was the first. Thread-safe.
  bool request(StopOutcome outcome);

  // Cheap enough for every vCPU exit.
  bool requested() const { return requested_.load(); }

  // Readable once a stop was requested.
  int fd() const { return event_.get(); }

  std::optional<StopOutcome> outcome() const;

 private:
  UniqueFd event_;
  std::atomic<bool> requested_{false};
  mutable std::mutex mutex_;
  std::optional<StopOutcome> outcome_;
};

}  // namespace kvrun::vmm
