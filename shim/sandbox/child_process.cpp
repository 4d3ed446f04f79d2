#include "shim/sandbox/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>

#include "common/error.h"

namespace kvrun::sandbox {
namespace {

// How long a reaped child's last output may take to reach its log: the pipe may still be held by
// a process that inherited it (the host agent's namespace is being torn down).
constexpr auto kLogDrain = std::chrono::seconds(2);

int status_code(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Runs in the child between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const std::vector<char*>& argv, const ChildOptions& options,
                             int log_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent && !options.new_pid_namespace) ::_exit(127);  // parent already gone
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(log_fd, 1) < 0 || ::dup2(log_fd, 2) < 0)
    ::_exit(127);
  if (options.pass_fd >= 0 && ::dup2(options.pass_fd, 3) < 0) ::_exit(127);
  // PID 1 of a new PID namespace sees the host's PIDs in the inherited /proc: give it a mount
  // namespace with a /proc of its own (mounts stay slaves, nothing propagates back).
  if (options.new_pid_namespace &&
      (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0 ||
       ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0))
    ::_exit(126);
  ::syscall(SYS_close_range, options.pass_fd >= 0 ? 4 : 3, ~0U, 0);
  ::execv(argv[0], argv.data());
  const char message[] = "exec failed\n";
  [[maybe_unused]] auto ignored = ::write(2, message, sizeof message - 1);
  ::_exit(127);
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const ChildOptions& options) {
  log_ = std::make_unique<CappedLog>(options.log, options.log_max_bytes);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  // A raw clone with no stack behaves like fork and can also make a new PID namespace, which
  // unshare(CLONE_NEWPID) in the monitor could not do without stopping it from making threads.
  unsigned long flags = SIGCHLD | (options.new_pid_namespace ? CLONE_NEWPID | CLONE_NEWNS : 0);
  long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) throw_errno("start " + argv[0]);
  if (pid == 0) exec_child(args, options, log_->child_fd(), parent);
  log_->close_child_fd();
  pid_ = static_cast<pid_t>(pid);
  pidfd_ = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0)));
  if (!pidfd_) {
    int err = errno;
    stop(SIGKILL, 0);
    throw_errno("pidfd_open", err);
  }
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      status_(other.status_),
      log_(std::move(other.log_)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) stop(SIGKILL, 0);
}

void ChildProcess::signal(int sig) const {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> ChildProcess::try_wait() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  pid_t done = ::waitpid(pid_, &status, WNOHANG);
  if (done == pid_) reaped(status);
  return status_;
}

int ChildProcess::stop(int sig, int grace_ms) {
  if (auto done = try_wait()) return *done;
  ::kill(pid_, sig);
  if (grace_ms > 0 && pidfd_) {
    pollfd fd{pidfd_.get(), POLLIN, 0};
    ::poll(&fd, 1, grace_ms);
  }
  if (auto done = try_wait()) return *done;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped(status);
  return *status_;
}

void ChildProcess::reaped(int status) {
  status_ = status_code(status);
  if (log_ && !log_->wait_closed(kLogDrain))
    spdlog::debug("{}: still open {} s after its writer exited", log_->path().string(),
                  std::chrono::duration_cast<std::chrono::seconds>(kLogDrain).count());
}

}  // namespace kvrun::sandbox
