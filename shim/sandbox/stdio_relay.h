// Moves the container's standard streams between the fds `kvrun create` was given and the
// agent's stream connections: one thread per direction, each stoppable (an eventfd), so the
// monitor can always join them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "common/unique_fd.h"

namespace kvrun::sandbox {

class StdioRelay {
 public:
  StdioRelay();
  ~StdioRelay();  // stops and joins every copy
  StdioRelay(const StdioRelay&) = delete;
  StdioRelay& operator=(const StdioRelay&) = delete;

  // Copies from `from` to `to` until EOF on `from`; then shuts down the write side of `to` when
  // it is a socket (EOF for the agent). `output` copies are those wait_output() waits for.
  // Takes ownership of the fds it is given as UniqueFd (made non-blocking); borrowed fds (the
  // monitor's own 0-2) are passed as plain ints and left open. A copy never blocks its stop
  // for good, not even on a reader that stopped reading.
  void copy(UniqueFd from, int to, bool output);
  void copy(int from, UniqueFd to, bool output);

  // Waits until every output copy has reached EOF, or the timeout; true if they all did.
  bool wait_output(std::chrono::milliseconds timeout);

 private:
  void start(int from, int to, UniqueFd owned, bool output);
  void run(int from, int to, bool output);

  UniqueFd stop_;
  std::mutex mutex_;
  std::condition_variable done_;
  int outputs_running_ = 0;
  std::vector<UniqueFd> owned_;
  std::vector<std::thread> threads_;
};

}  // namespace kvrun::sandbox
