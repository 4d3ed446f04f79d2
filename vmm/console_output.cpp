#include "vmm/console_output.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace kvrun::vmm {
namespace {

// How long a write to a full non-blocking console waits before it looks at the stop flag again.
constexpr int kPollMs = 10;

}  // namespace

void ConsoleOutput::write(std::span<const uint8_t> bytes) {
  write_all(bytes);
  if (auto panic = detector_.feed(bytes)) {
    stop_.request(StopOutcome{StopCause::kPanic, 0, std::move(*panic)});
  }
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
