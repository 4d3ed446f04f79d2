#include "vmm/console_output.h"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

namespace kvrun::vmm {
namespace {

// How long a write to a full non-blocking console waits before it looks at the stop flag again.
constexpr int kPollMs = 10;
// What a marker line is charged against the bucket: its length, rounded up.
constexpr uint64_t kMarkerCost = 80;

}  // namespace

TokenBucket::TokenBucket(uint64_t rate, uint64_t burst, TimePoint now)
    : rate_(rate), burst_(Nanobytes{burst} * kScale), tokens_(burst_), last_(now) {}

void TokenBucket::refill(TimePoint now) {
  if (now <= last_) return;
  const auto ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count());
  // ns * rate fits: 2^64 * 2^64 < 2^128.
  tokens_ = std::min(burst_, tokens_ + Nanobytes{ns} * rate_);
  last_ = now;
}

uint64_t TokenBucket::take(uint64_t want, TimePoint now) {
  refill(now);
  const auto granted = static_cast<uint64_t>(std::min(Nanobytes{want}, tokens_ / kScale));
  tokens_ -= Nanobytes{granted} * kScale;
  return granted;
}

bool TokenBucket::take_all_or_nothing(uint64_t n, TimePoint now) {
  refill(now);
  if (tokens_ < Nanobytes{n} * kScale) return false;
  tokens_ -= Nanobytes{n} * kScale;
  return true;
}

ConsoleOutput::ConsoleOutput(int fd, VmStop& stop, ConsoleLimit limit, Clock clock)
    : fd_(fd),
      stop_(stop),
      clock_(std::move(clock)),
      limited_(limit.bytes_per_second > 0),
      bucket_(limit.bytes_per_second, std::max(limit.burst_bytes, kMarkerCost), clock_()) {}

void ConsoleOutput::write(std::span<const uint8_t> bytes) {
  if (!limited_) {
    write_all(bytes);
    return;
  }
  const auto now = clock_();
  if (dropped_ > 0) {
    // One marker per episode, and at most one per interval while the flood goes on; the
    // marker is output too, and pays its way.
    if (now - episode_start_ < kMarkerInterval || !bucket_.take_all_or_nothing(kMarkerCost, now)) {
      dropped_ += bytes.size();
      dropped_total_ += bytes.size();
      return;
    }
    write_marker();
  }
  const uint64_t granted = bucket_.take(bytes.size(), now);
  write_all(bytes.first(granted));
  if (granted < bytes.size()) {
    if (dropped_ == 0) episode_start_ = now;
    dropped_ += bytes.size() - granted;
    dropped_total_ += bytes.size() - granted;
  }
}

void ConsoleOutput::finish() {
  if (dropped_ > 0) write_marker();
  if (dropped_total_ > 0)
    spdlog::warn("console: {} bytes of guest output over the rate limit were dropped",
                 dropped_total_);
}

void ConsoleOutput::write_marker() {
  const std::string marker =
      fmt::format("\n[kvrun-vmm: console rate limit: {} bytes dropped]\n", dropped_);
  dropped_ = 0;
  write_all({reinterpret_cast<const uint8_t*>(marker.data()), marker.size()});
}

void ConsoleOutput::write_all(std::span<const uint8_t> bytes) {
  while (!bytes.empty() && !broken_) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n >= 0) {
      bytes = bytes.subspan(static_cast<size_t>(n));
    } else if (errno == EINTR) {
      if (stop_.requested()) return;  // kicked while the reader is not reading: give up
    } else if (errno == EAGAIN) {
      // stdout was handed to us non-blocking: wait for room instead of losing output.
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, kPollMs);
      if (stop_.requested()) return;
    } else {
      // The reader went away (EPIPE): the guest runs on without a console.
      spdlog::debug("console output dropped: {}", std::strerror(errno));
      broken_ = true;
    }
  }
}

}  // namespace kvrun::vmm
