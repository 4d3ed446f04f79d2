// Accepts connections on the agent's listening socket and keeps them alive until they close.
#pragma once

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

  EventLoop& loop_;
  Engine& engine_;
  UniqueFd listener_;
  EventLoop::Watch watch_;
  std::map<Connection*, std::shared_ptr<Connection>> connections_;
};

}  // namespace kvrun::agent
