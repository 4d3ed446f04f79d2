#include "agent/server.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace kvrun::agent {

Server::Server(EventLoop& loop, Engine& engine, UniqueFd listener)
    : loop_(loop), engine_(engine), listener_(std::move(listener)) {
  watch_ = loop_.watch(listener_.get(), EPOLLIN, [this](std::uint32_t) { accept_all(); });
}

void Server::accept_all() {
  for (;;) {
    UniqueFd fd(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // EAGAIN: drained. EMFILE and friends: log and let the loop retry later.
      if (errno != EAGAIN) spdlog::warn("accept: {}", std::strerror(errno));
      return;
    }
    auto connection = std::make_shared<Connection>(
        loop_, engine_, std::move(fd), [this](Connection* c) { connections_.erase(c); });
    connection->start();
    connections_.emplace(connection.get(), std::move(connection));
  }
}

}  // namespace kvrun::agent
