// A terminal process's host end (the pty master kvrun sent to the console socket) joined to
// the FIFOs containerd's client made: its stdin into the terminal, the terminal out to its
// stdout. A terminal has no separate stderr.
#pragma once

#include <chrono>

#include "common/unique_fd.h"
#include "shim/sandbox/stdio_relay.h"

namespace kvrun::containerd {

class ProcessTerminal {
 public:
  // stdin_fifo / stdout_fifo: -1 when the client gave none; copies are kept, so the caller
  // may close its own.
  ProcessTerminal(UniqueFd master, int stdin_fifo, int stdout_fifo);

  // Once the process has exited: waits up to `timeout` for what it wrote last to reach the
  // stdout FIFO. Destroying the terminal then closes the FIFO: the client's end of output.
  void drain(std::chrono::milliseconds timeout);

 private:
  UniqueFd stdin_;
  UniqueFd stdout_;
  sandbox::StdioRelay relay_;  // declared last: its copies stop before the fds above close
};

}  // namespace kvrun::containerd
