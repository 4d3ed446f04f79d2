#include "agent/server.h"

#include <linux/vm_sockets.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "agent/listen_address.h"
#include "common/error.h"

namespace kvrun::agent {
namespace {

constexpr std::chrono::seconds kRefusalLogInterval{10};

std::string describe_peer(const sockaddr_storage& peer) {
  if (peer.ss_family == AF_VSOCK) {
    sockaddr_vm vm;
    std::memcpy(&vm, &peer, sizeof vm);
    return "vsock cid " + std::to_string(vm.svm_cid) + " port " + std::to_string(vm.svm_port);
  }
  return "address family " + std::to_string(peer.ss_family);
}

}  // namespace

Server::Server(EventLoop& loop, Engine& engine, UniqueFd listener)
    : loop_(loop), engine_(engine), listener_(std::move(listener)) {
  watch_ = loop_.watch(listener_.get(), EPOLLIN, [this](std::uint32_t) { accept_all(); });
}

void Server::accept_all() {
  for (;;) {
    sockaddr_storage peer{};
    socklen_t length = sizeof peer;
    UniqueFd fd(::accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &length,
                          SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // EAGAIN: drained. EMFILE and friends: log and let the loop retry later.
      if (errno != EAGAIN) spdlog::warn("accept: {}", std::strerror(errno));
      return;
    }
    if (!accepts_peer(reinterpret_cast<const sockaddr*>(&peer), length)) {
      log_refused(peer);
      continue;  // fd closes here, before a byte is read
    }
    auto connection = std::make_shared<Connection>(
        loop_, engine_, std::move(fd), [this](Connection* c) { connections_.erase(c); });
    connection->start();
    connections_.emplace(connection.get(), std::move(connection));
  }
}

void Server::log_refused(const sockaddr_storage& peer) {
  ++refused_unlogged_;
  auto now = std::chrono::steady_clock::now();
  if (last_refusal_log_ != std::chrono::steady_clock::time_point{} &&
      now - last_refusal_log_ < kRefusalLogInterval) {
    return;
  }
  spdlog::warn(
      "refused a connection from {}: only the host (vsock cid 2) may talk to the agent "
      "({} refused since the last such line)",
      describe_peer(peer), refused_unlogged_);
  last_refusal_log_ = now;
  refused_unlogged_ = 0;
}

}  // namespace kvrun::agent
