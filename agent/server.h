// Accepts connections on the agent's listening socket and keeps them alive until they close.
// Peers that accepts_peer() refuses (anything but the host on vsock) are closed at once.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>

#include "agent/connection.h"
#include "agent/engine.h"
#include "agent/event_loop.h"
#include "common/unique_fd.h"

namespace kvrun::agent {

class Server {
 public:
  Server(EventLoop& loop, Engine& engine, UniqueFd listener);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  void accept_all();
  void log_refused(const sockaddr_storage& peer);

  EventLoop& loop_;
  Engine& engine_;
  UniqueFd listener_;
  EventLoop::Watch watch_;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
  // Refused peers are logged at most once per interval (a guest looping on connect must not
  // flood the console), with the number refused since the last line.
  std::chrono::steady_clock::time_point last_refusal_log_{};
  std::uint64_t refused_unlogged_ = 0;
};

}  // namespace kvrun::agent
