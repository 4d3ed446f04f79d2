// The guest's serial output on its way to the host: written to the console fd (kvrun-vmm's
// stdout) unbuffered, through a token bucket. The guest decides how much it prints, so a
// flooding guest must not turn into unbounded host CPU, disk or memory: bytes over the rate are
// dropped and counted, and one marker line per episode says how many were lost. Nothing here
// interprets the text: a guest's console is untrusted (a panic is reported on devices/pvpanic).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>

#include "vmm/stop.h"

namespace kvrun::vmm {

struct ConsoleLimit {
  // Sustained console output in bytes per second; 0 turns the limit off. About six times a
  // 115200-baud UART: a chatty boot never meets it, a flood does.
  uint64_t bytes_per_second = 64 * 1024;
  // Output allowed at once above the rate: a whole verbose boot log, a panic backtrace.
  uint64_t burst_bytes = 512 * 1024;
};

// Tokens are bytes; they come back at `rate` per second up to `burst`. Kept in billionths of a
// byte (integers: no rounding drift), so a byte-at-a-time writer gets exactly the rate.
class TokenBucket {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  TokenBucket(uint64_t rate, uint64_t burst, TimePoint now);

  // Takes up to `want` tokens; returns how many it took.
  uint64_t take(uint64_t want, TimePoint now);
  // Takes exactly `n` tokens if there are that many.
  bool take_all_or_nothing(uint64_t n, TimePoint now);

 private:
  void refill(TimePoint now);

  using Nanobytes = unsigned __int128;
  static constexpr uint64_t kScale = 1'000'000'000;  // nanobytes per byte, ns per second

  uint64_t rate_;
  Nanobytes burst_;
  Nanobytes tokens_;
  TimePoint last_;
};

class ConsoleOutput {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // At most one marker line per this long while a flood goes on.
  static constexpr std::chrono::seconds kMarkerInterval{1};

  // `fd` is borrowed; `stop` cuts a write to a reader that does not read short once the VM
  // stops. `clock` is for tests.
  ConsoleOutput(int fd, VmStop& stop, ConsoleLimit limit = {},
                Clock clock = std::chrono::steady_clock::now);

  // The UART's output sink: called with the UART's lock held, so from one thread at a time.
  void write(std::span<const uint8_t> bytes);
  // After the guest stopped: the marker for bytes dropped since the last one, if any.
  void finish();

  uint64_t dropped_bytes() const { return dropped_total_; }

 private:
  void write_marker();
  void write_all(std::span<const uint8_t> bytes);

  int fd_;
  VmStop& stop_;
  Clock clock_;
  bool limited_;
  TokenBucket bucket_;
  uint64_t dropped_ = 0;  // in the current episode, not yet reported by a marker
  uint64_t dropped_total_ = 0;
  std::chrono::steady_clock::time_point episode_start_{};
  bool broken_ = false;
};

}  // namespace kvrun::vmm
