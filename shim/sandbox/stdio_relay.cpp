#include "shim/sandbox/stdio_relay.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "common/error.h"

namespace kvrun::sandbox {
namespace {

// Never blocks for good: the reader of `fd` (conmon, an engine, a terminal) may stall, and the
// monitor must still be able to stop this copy and exit. Chunks of at most PIPE_BUF fit a pipe
// that polls writable; a pty or socket we own is non-blocking.
bool write_all(int fd, int stop_fd, const char* data, std::size_t size) {
  while (size > 0) {
    pollfd fds[2] = {{fd, POLLOUT, 0}, {stop_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (fds[1].revents != 0) return false;
    ssize_t n = ::write(fd, data, std::min<std::size_t>(size, PIPE_BUF));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool is_socket(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

}  // namespace

StdioRelay::StdioRelay() : stop_(::eventfd(0, EFD_CLOEXEC)) {
  if (!stop_) throw_errno("eventfd");
}

StdioRelay::~StdioRelay() {
  std::uint64_t one = 1;
  [[maybe_unused]] auto ignored = ::write(stop_.get(), &one, sizeof one);
  for (auto& thread : threads_) thread.join();
}

void StdioRelay::copy(UniqueFd from, int to, bool output) {
  int fd = from.get();
  start(fd, to, std::move(from), output);
}

void StdioRelay::copy(int from, UniqueFd to, bool output) {
  int fd = to.get();
  start(from, fd, std::move(to), output);
}

void StdioRelay::start(int from, int to, UniqueFd owned, bool output) {
  // Ours alone, so non-blocking is safe (a borrowed fd 0-2 may be a shell's terminal).
  int flags = ::fcntl(owned.get(), F_GETFL);
  if (flags < 0 || ::fcntl(owned.get(), F_SETFL, flags | O_NONBLOCK) != 0)
    throw_errno("fcntl O_NONBLOCK");
  owned_.push_back(std::move(owned));
  if (output) {
    std::lock_guard lock(mutex_);
    ++outputs_running_;
  }
  threads_.emplace_back([this, from, to, output] { run(from, to, output); });
}

void StdioRelay::run(int from, int to, bool output) {
  char buffer[65536];
  for (;;) {
    pollfd fds[2] = {{from, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents != 0) break;
    ssize_t n = ::read(from, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    // A reader that went away (EPIPE) ends this stream only; the container goes on.
    if (!write_all(to, stop_.get(), buffer, static_cast<std::size_t>(n))) break;
  }
  if (is_socket(to)) ::shutdown(to, SHUT_WR);
  if (output) {
    std::lock_guard lock(mutex_);
    --outputs_running_;
    done_.notify_all();
  }
}

bool StdioRelay::wait_output(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return done_.wait_for(lock, timeout, [this] { return outputs_running_ == 0; });
}

}  // namespace kvrun::sandbox
