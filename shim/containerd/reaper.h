// The shim is a child subreaper: the kvrun monitors that `kvrun create` and `kvrun exec -d`
// fork and leave behind are re-parented to it, and their exit status is the task's. One thread
// collects every child's exit (SIGCHLD through a signalfd) and hands it to whoever waits for
// that PID, whether the wait starts before or after the exit.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "common/unique_fd.h"

namespace kvrun::containerd {

class Reaper {
 public:
  // Makes this process a subreaper and blocks SIGCHLD in the calling thread, which must be the
  // only thread so far (threads started later inherit the mask). Throws Error.
  Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // The collecting loop; run it on its own thread. Never returns.
  [[noreturn]] void run();
  // Blocks until pid has exited; returns its status (exit code, or 128 + signal). Each exit is
  // handed out once.
  int wait(pid_t pid);

 private:
  void collect();

  UniqueFd signal_fd_;
  std::mutex mutex_;
  std::condition_variable exited_;
  std::map<pid_t, int> exits_;
};

// Status as a shell reports it: exit code, or 128 + the terminating signal.
int decode_wait_status(int status);

}  // namespace kvrun::containerd
