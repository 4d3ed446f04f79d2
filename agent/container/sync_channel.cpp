#include "agent/container/sync_channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>

#include "common/error.h"
#include "common/fd_passing.h"

namespace kvrun::agent {

std::pair<SyncChannel, SyncChannel> SyncChannel::make_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    throw_errno("socketpair for the child sync channel");
  }
  return {SyncChannel(UniqueFd(fds[0])), SyncChannel(UniqueFd(fds[1]))};
}

void SyncChannel::send(std::string_view message) const {
  while (::send(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) throw_errno("send on the child sync channel");
  }
}

void SyncChannel::send_fd(std::string_view message, int fd) const {
  send_with_fd(fd_.get(), message, fd, "send a descriptor on the child sync channel");
}

std::optional<std::string> SyncChannel::receive(std::chrono::milliseconds timeout,
                                                UniqueFd* fd) const {
  pollfd pfd{fd_.get(), POLLIN, 0};
  // poll takes an int: a longer wait is clamped (about 24 days) rather than wrapped.
  const int timeout_ms = timeout.count() < 0
                             ? -1
                             : static_cast<int>(std::min<std::int64_t>(
                                   timeout.count(), std::numeric_limits<int>::max()));
  int ready;
  do {
    ready = ::poll(&pfd, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) throw_errno("poll the child sync channel");
  if (ready == 0)
    throw Error("timed out after " + std::to_string(timeout.count()) + " ms waiting for the child");
  char buffer[4096];
  iovec iov{buffer, sizeof buffer};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(fd_.get(), &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n >= 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int received = -1;
    std::memcpy(&received, CMSG_DATA(c), sizeof(int));
    UniqueFd owned(received);  // closed here unless the caller wants it
    if (fd != nullptr) *fd = std::move(owned);
  }
  if (n < 0) {
    // The peer vanished mid-conversation (killed); treat as end-of-file.
    if (errno == ECONNRESET) return std::nullopt;
    throw_errno("receive on the child sync channel");
  }
  if (n == 0) return std::nullopt;
  return std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace kvrun::agent
