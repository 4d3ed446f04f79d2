// One control connection: frames in, requests dispatched to the engine, replies out. A
// connection whose first request is AttachStdio stops being a control connection and is handed
// to the engine as a raw byte stream.
#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/engine.h"
#include "agent/event_loop.h"
#include "common/unique_fd.h"
#include "protocol/framing.h"
#include "protocol/messages.h"

namespace kvrun::agent {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using ClosedCallback = std::function<void(Connection*)>;

  Connection(EventLoop& loop, Engine& engine, UniqueFd fd, ClosedCallback on_closed);
  // Registers with the loop; separate from the constructor because handlers need
  // shared_from_this().
  void start();

 private:
  void on_events(std::uint32_t events);
  void read_some();
  void handle_frame(const std::string& frame);
  void dispatch(const protocol::Request& request);
  void attach(const protocol::Request& request, const protocol::AttachStdio& attach);
  void send(std::string reply);
  // Logs why request id (of type) failed and sends its error reply.
  void send_failure(std::uint64_t id, std::string_view type, const std::exception& e);
  void flush();
  void update_events();
  void close();
  // After DestroySandbox's reply: the agent ends when this client has closed the connection
  // (so the reply surely reached it) or after a grace period.
  void end_agent_when_done();

  EventLoop& loop_;
  Engine& engine_;
  UniqueFd fd_;
  ClosedCallback on_closed_;
  EventLoop::Watch watch_;
  protocol::FrameDecoder decoder_;
  std::string output_;
  bool first_message_ = true;
  bool closing_ = false;  // after a framing error: flush the error reply, then close
  bool ends_agent_ = false;
  UniqueFd end_timer_;
  EventLoop::Watch end_timer_watch_;
};

}  // namespace kvrun::agent
