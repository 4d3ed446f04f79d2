// A helper process the monitor owns (kvrun-vmm, or kvrun-agent for host sandboxes). It dies
// with its parent (PR_SET_PDEATHSIG), so a killed monitor never leaves a VM running, and the
// destructor kills and reaps it, so no path out of the monitor leaves one behind either.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "shim/sandbox/capped_log.h"

namespace kvrun::sandbox {

struct ChildOptions {
  // stdout and stderr go here (appended), through a pipe and capped_log.h: at most
  // log_max_bytes in `log` and as much again in `log`.1. stdin is /dev/null.
  std::filesystem::path log;
  int pass_fd = -1;                // becomes fd 3 in the child; every other fd is closed
  bool new_pid_namespace = false;  // the child is PID 1 of a fresh PID namespace: when it dies,
                                   // the kernel kills everything left in it
  uint64_t log_max_bytes = kDefaultLogMaxBytes;
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
  // Reaps the child if it has exited; returns its status (exit code or 128 + signal). Once it
  // returns a status, the child's last output is in the log.
  std::optional<int> try_wait();
  // Sends sig, waits up to grace_ms, then SIGKILL; returns the status.
  int stop(int sig, int grace_ms);

 private:
  void reaped(int status);

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<int> status_;
  std::unique_ptr<CappedLog> log_;
};

}  // namespace kvrun::sandbox
