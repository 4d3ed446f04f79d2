// A child process for tests (tests/vm, tests/e2e): spawned with its stdin/stdout/stderr on
// pipes, output captured, waited for with a deadline, and killed and reaped if the test gives up
// on it — a failing test never leaves a VM, a monitor or an engine running behind it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"

namespace kvrun::test {

struct ExitStatus {
  bool exited = false;  // true: `code` is valid; false: killed by `signal`
  int code = 0;
  int signal = 0;
  bool killed_after_deadline = false;  // the SIGKILL came from ChildProcess::wait()

  // "exit status 42" or "killed by signal 9 (Killed)", for assertion messages.
  std::string describe() const;
  // As a shell shows it: the exit code or 128 + signal; -1 if the deadline killed it.
  int shell_status() const;
};

class ChildProcess {
 public:
  // Starts argv[0] (a path, not looked up in PATH). Throws kvrun::Error if it cannot.
  static ChildProcess spawn(const std::vector<std::string>& argv);

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&&) = delete;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();  // SIGKILLs and reaps a child that is still running

  pid_t pid() const { return pid_; }

  void write_stdin(std::string_view data);
  void close_stdin() { stdin_.reset(); }
  void send_signal(int signal);

  // Collects output until stdout contains `needle`; false if the child exits or `timeout`
  // passes first.
  bool wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout);

  // Collects output until the child exits, then returns how. If it has not exited within
  // `timeout` it is killed with SIGKILL and nullopt is returned. What the child wrote is all
  // collected; pipes a grandchild inherited (a daemon, a container monitor) are not waited for.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);

  // How the child ended; nullopt while it runs.
  const std::optional<ExitStatus>& status() const { return status_; }
  const std::string& stdout_text() const { return stdout_text_; }
  const std::string& stderr_text() const { return stderr_text_; }

 private:
  ChildProcess(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err);

  // Reads whatever the pipes have within `timeout`; false once both are at EOF.
  bool pump(std::chrono::milliseconds timeout);
  void drain();
  bool try_reap();
  void kill_and_reap();

  pid_t pid_ = -1;
  UniqueFd stdin_;
  UniqueFd stdout_;
  UniqueFd stderr_;
  std::string stdout_text_;
  std::string stderr_text_;
  std::optional<ExitStatus> status_;
};

// Waits for `pid`, a child of ours or, with us as subreaper, an orphaned grandchild (a container
// monitor); if it has not exited within `timeout` it is killed with SIGKILL, reaped, and its
// status says killed_after_deadline. Unbounded waits are how a test suite hangs.
ExitStatus wait_for_process(pid_t pid, std::chrono::milliseconds timeout);

// Runs argv to completion (or kills it after `timeout`) with `input` on its stdin, then EOF;
// returns the finished child.
ChildProcess run_to_completion(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout, std::string_view input = {});

}  // namespace kvrun::test
