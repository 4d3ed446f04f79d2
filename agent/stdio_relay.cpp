#include "agent/stdio_relay.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace kvrun::agent {
namespace {

constexpr std::size_t kChunk = 1 << 20;
constexpr std::size_t kCopyChunk = 64 * 1024;
// Bound the work per wakeup so one busy stream cannot starve the control connections.
constexpr int kMaxSplicesPerWakeup = 16;

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("fcntl O_NONBLOCK");
}

}  // namespace

StdioRelay::StdioRelay(EventLoop& loop, UniqueFd from, UniqueFd to, std::string name)
    : name_(std::move(name)), from_(std::move(from)), to_(std::move(to)) {
  set_nonblocking(from_.get());
  set_nonblocking(to_.get());
  from_watch_ = loop.watch(from_.get(), EPOLLIN, [this](std::uint32_t) { pump(); });
  to_watch_ = loop.watch(to_.get(), 0, [this](std::uint32_t) { pump(); });
}

void StdioRelay::pump() {
  if (copying_) {
    copy();
    return;
  }
  for (int i = 0; i < kMaxSplicesPerWakeup; ++i) {
    ssize_t n = ::splice(from_.get(), nullptr, to_.get(), nullptr, kChunk,
                         SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) continue;
    if (n == 0) {
      finish();
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EINVAL && i == 0) {  // neither end is a pipe
      copying_ = true;
      copy();
      return;
    }
    if (errno != EAGAIN) {
      // The reader went away (EPIPE) or the stream broke; the process sees EPIPE in turn.
      spdlog::debug("{}: {}", name_, std::strerror(errno));
      finish();
      return;
    }
    // EAGAIN: either nothing to read or no room to write; only the source knows which.
    int available = 0;
    if (::ioctl(from_.get(), FIONREAD, &available) == 0 && available > 0) {
      from_watch_.set_events(0);
      to_watch_.set_events(EPOLLOUT);
    } else {
      to_watch_.set_events(0);
      from_watch_.set_events(EPOLLIN);
    }
    return;
  }
}

void StdioRelay::copy() {
  for (int i = 0; i < kMaxSplicesPerWakeup; ++i) {
    if (written_ == buffer_.size()) {
      buffer_.resize(kCopyChunk);
      written_ = 0;
      ssize_t n = ::read(from_.get(), buffer_.data(), buffer_.size());
      buffer_.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) {
        to_watch_.set_events(0);
        from_watch_.set_events(EPOLLIN);
        return;
      }
      if (n <= 0) {  // end of file; EIO is a pty's end of file once its slave side is closed
        finish();
        return;
      }
    }
    ssize_t n = ::write(to_.get(), buffer_.data() + written_, buffer_.size() - written_);
    if (n > 0) {
      written_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      from_watch_.set_events(0);
      to_watch_.set_events(EPOLLOUT);
      return;
    }
    spdlog::debug("{}: {}", name_, std::strerror(errno));
    finish();
    return;
  }
}

void StdioRelay::finish() {
  from_watch_.reset();
  to_watch_.reset();
  ::shutdown(to_.get(), SHUT_WR);  // ENOTSOCK for a pipe: closing is enough there
  from_.reset();
  to_.reset();
  spdlog::debug("{}: end of stream", name_);
}

}  // namespace kvrun::agent
