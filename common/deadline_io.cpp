#include "common/deadline_io.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace kvrun {

int Deadline::poll_timeout_ms() const {
  if (is_never()) return -1;
  auto left = at_ - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return ms > INT32_MAX ? INT32_MAX : static_cast<int>(ms);
}

void wait_ready(int fd, short events, const Deadline& deadline, const std::string& context) {
  for (;;) {
    pollfd ready{fd, events, 0};
    int polled = ::poll(&ready, 1, deadline.poll_timeout_ms());
    if (polled < 0) {
      if (errno == EINTR) continue;
      throw_errno(context);
    }
    if (polled > 0) return;
    throw TimeoutError(context + ": no answer within " +
                       std::to_string(deadline.timeout().count()) + " ms");
  }
}

void write_all(int fd, std::string_view data, const Deadline& deadline,
               const std::string& context) {
  while (!data.empty()) {
    wait_ready(fd, POLLOUT, deadline, context);
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      throw_errno(context);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::size_t read_full(int fd, char* data, std::size_t size, const Deadline& deadline,
                      const std::string& context) {
  std::size_t done = 0;
  while (done < size) {
    wait_ready(fd, POLLIN, deadline, context);
    ssize_t n = ::recv(fd, data + done, size - done, MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK) n = ::read(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      throw_errno(context);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace kvrun
