// A helper process the monitor owns (kvrun-vmm, or kvrun-agent for host sandboxes). It dies
// with its parent (PR_SET_PDEATHSIG), so a killed monitor never leaves a VM running, and the
// destructor kills and reaps it, so no path out of the monitor leaves one behind either.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace kvrun::sandbox {

struct ChildOptions {
  std::filesystem::path log;       // stdout and stderr go here (appended); stdin is /dev/null
  int pass_fd = -1;                // becomes fd 3 in the child; every other fd is closed
  bool new_pid_namespace = false;  // the child is PID 1 of a fresh PID namespace: when it dies,
                                   // the kernel kills everything left in it
};

class ChildProcess {
 public:
  // Throws Error if the program cannot be started.
  ChildProcess(const std::vector<std::string>& argv, const ChildOptions& options);
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }  // readable once the child has exited
  void signal(int sig) const;
  // Reaps the child if it has exited; returns its status (exit code or 128 + signal).
  std::optional<int> try_wait();
  // Sends sig, waits up to grace_ms, then SIGKILL; returns the status.
  int stop(int sig, int grace_ms);

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<int> status_;
};

}  // namespace kvrun::sandbox
