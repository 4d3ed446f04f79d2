// Reaps children. SIGCHLD arrives through a signalfd on the event loop; every exited child is
// collected with waitpid(-1, WNOHANG) and reported. As PID 1 in the guest the agent also
// inherits orphans; those are reaped and reported like any other pid, and the callback ignores
// pids it does not know.
#pragma once

#include <sys/types.h>

#include <functional>

#include "agent/event_loop.h"
#include "common/unique_fd.h"

namespace kvrun::agent {

class Supervisor {
 public:
  using ExitHandler = std::function<void(pid_t pid, int wait_status)>;

  // Blocks SIGCHLD for the (single-threaded) process; children unblock it before exec.
  Supervisor(EventLoop& loop, ExitHandler on_exit);

  // Reaps everything that has exited so far.
  void reap();

 private:
  UniqueFd signal_fd_;
  ExitHandler on_exit_;
  EventLoop::Watch watch_;
};

}  // namespace kvrun::agent
