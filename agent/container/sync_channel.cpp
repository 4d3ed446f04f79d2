#include "agent/container/sync_channel.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/error.h"

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

std::optional<std::string> SyncChannel::receive(std::chrono::milliseconds timeout) const {
  pollfd pfd{fd_.get(), POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, timeout.count() < 0 ? -1 : static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) throw_errno("poll the child sync channel");
  if (ready == 0)
    throw Error("timed out after " + std::to_string(timeout.count()) + " ms waiting for the child");
  char buffer[4096];
  ssize_t n;
  do {
    n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    // The peer vanished mid-conversation (killed); treat as end-of-file.
    if (errno == ECONNRESET) return std::nullopt;
    throw_errno("receive on the child sync channel");
  }
  if (n == 0) return std::nullopt;
  return std::string(buffer, static_cast<std::size_t>(n));
}

}  // namespace kvrun::agent
