// Moves one process stream between a pipe and an attached connection with splice(2), so the
// bytes never pass through the agent's memory and a slow reader only stalls its own process
// (the pipe fills up), never the control connections. splice needs a pipe on one side; a pty
// master is not one, so that stream is copied through a small buffer instead.
#pragma once

#include <cstddef>
#include <string>

#include "agent/event_loop.h"
#include "common/unique_fd.h"

namespace kvrun::agent {

class StdioRelay {
 public:
  // Copies from -> to until `from` reports end-of-file, then closes both; a socket's write side
  // is shut down first so its reader sees end-of-file too. Both fds are made non-blocking.
  StdioRelay(EventLoop& loop, UniqueFd from, UniqueFd to, std::string name);
  StdioRelay(const StdioRelay&) = delete;
  StdioRelay& operator=(const StdioRelay&) = delete;

  bool done() const { return !from_.valid(); }

 private:
  void pump();
  void copy();
  void finish();

  std::string name_;
  UniqueFd from_, to_;
  bool copying_ = false;
  std::string buffer_;  // copy mode: read, not yet written
  std::size_t written_ = 0;
  EventLoop::Watch from_watch_, to_watch_;
};

}  // namespace kvrun::agent
