#include "common/oci_hook.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>

#include "common/error.h"
#include "common/printable.h"
#include "common/unique_fd.h"

extern char** environ;

namespace kvrun {
namespace {

constexpr std::size_t kKeptOutput = 1024;
// After the hook has exited, what is still buffered in its pipes is read, but no more than this:
// a process it left behind may keep writing.
constexpr std::size_t kMaxDrain = 1 << 20;
// Without a pidfd (a container's seccomp profile may refuse pidfd_open), the exit is polled.
constexpr int kExitPollMs = 20;

struct Pipe {
  UniqueFd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("hook: pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) throw_errno("hook: fcntl");
}

// The end of a stream, kept to a bound.
class Tail {
 public:
  void add(const char* data, std::size_t size) {
    text_.append(data, size);
    if (text_.size() > 2 * kKeptOutput) {
      text_.erase(0, text_.size() - kKeptOutput);
      cut_ = true;
    }
  }
  // One line: newlines and tabs as spaces, the rest of the control bytes escaped.
  std::string line() const {
    std::string text =
        text_.size() > kKeptOutput ? text_.substr(text_.size() - kKeptOutput) : text_;
    for (char& c : text)
      if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    auto end = text.find_last_not_of(' ');
    text.erase(end == std::string::npos ? 0 : end + 1);
    auto start = text.find_first_not_of(' ');
    text.erase(0, start == std::string::npos ? text.size() : start);
    return ((cut_ || text_.size() > kKeptOutput) ? "..." : "") + printable(text, kKeptOutput);
  }
  bool empty() const { return text_.find_first_not_of(" \n\r\t") == std::string::npos; }

 private:
  std::string text_;
  bool cut_ = false;
};

// Reads what is there without blocking; false at end-of-file or a read error.
bool read_some(int fd, Tail& tail, std::size_t limit = SIZE_MAX) {
  char buffer[16384];
  std::size_t total = 0;
  while (total < limit) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      tail.add(buffer, static_cast<std::size_t>(n));
      total += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;
  }
  return true;
}

// SIGPIPE blocked in this thread while it writes to the hook's stdin (the hook may exit without
// reading it); one raised on the way is taken back, so it is never delivered later.
class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigset_t pipe_only;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    ::pthread_sigmask(SIG_BLOCK, &pipe_only, &previous_);
  }
  ~SigpipeBlocked() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      sigset_t pipe_only;
      sigemptyset(&pipe_only);
      sigaddset(&pipe_only, SIGPIPE);
      timespec zero{};
      ::sigtimedwait(&pipe_only, nullptr, &zero);
    }
    ::pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t previous_{};
  bool was_pending_ = false;
};

// Kills and reaps the hook unless it was reaped: no way out of run_hook leaves it running.
class HookChild {
 public:
  explicit HookChild(pid_t pid) : pid_(pid) {}
  HookChild(const HookChild&) = delete;
  HookChild& operator=(const HookChild&) = delete;
  ~HookChild() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      wait(0);
    }
  }
  pid_t pid() const { return pid_; }
  // The wait status once the hook has exited (flags: WNOHANG or 0); kUnknownStatus when it was
  // reaped by someone else (a caller ignoring SIGCHLD).
  std::optional<int> wait(int flags) {
    int status = 0;
    pid_t got;
    while ((got = ::waitpid(pid_, &status, flags)) < 0 && errno == EINTR) {
    }
    if (got == 0) return std::nullopt;
    pid_ = -1;
    return got < 0 ? kUnknownStatus : status;
  }
  static constexpr int kUnknownStatus = -1;

 private:
  pid_t pid_;
};

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// The child between fork and exec: async-signal-safe calls only. Puts the pipes on 0-2 and the
// exec report on 3, closes everything else, and reports execve's errno there if it fails.
[[noreturn]] void exec_hook(const char* path, char* const* argv, char* const* envp,
                            std::array<int, 4> fds) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Above every target first: a source may sit on 0-3 already.
  for (int& fd : fds) {
    fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
    if (fd < 0) ::_exit(127);
  }
  for (int target = 0; target < 3; ++target) {
    if (::dup2(fds[target], target) < 0) ::_exit(127);
  }
  if (::dup3(fds[3], 3, O_CLOEXEC) < 0) ::_exit(127);
  // Not a descriptor of the runtime may reach the hook: if they cannot all be closed, it does
  // not run (reported as its exec's failure).
  if (::close_range(4, ~0U, 0) == 0) ::execve(path, argv, envp);
  int error = errno;
  [[maybe_unused]] auto ignored = ::write(3, &error, sizeof error);
  ::_exit(127);
}

std::string describe_status(int status) {
  if (status == HookChild::kUnknownStatus) return "exit status unknown (reaped elsewhere)";
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "wait status " + std::to_string(status);
}

}  // namespace

std::string_view hook_kind_name(HookKind kind) {
  switch (kind) {
    case HookKind::kPrestart:
      return "prestart";
    case HookKind::kCreateRuntime:
      return "createRuntime";
    case HookKind::kCreateContainer:
      return "createContainer";
    case HookKind::kStartContainer:
      return "startContainer";
    case HookKind::kPoststart:
      return "poststart";
    case HookKind::kPoststop:
      return "poststop";
  }
  return "unknown";
}

std::chrono::seconds start_container_hooks_budget(const std::vector<Hook>& hooks) {
  std::chrono::seconds total{0};
  for (const Hook& hook : hooks) total += hook.timeout.value_or(kDefaultStartContainerHookTimeout);
  return total;
}

void check_hook(const Hook& hook, const std::string& field) {
  auto check_string = [](const std::string& value, const std::string& where) {
    if (value.size() > kMaxHookStringBytes)
      throw Error(where + ": longer than " + std::to_string(kMaxHookStringBytes) + " bytes");
    if (value.find('\0') != std::string::npos) throw Error(where + ": contains a NUL byte");
  };
  check_string(hook.path, field + ".path");
  if (hook.path.empty() || hook.path.front() != '/')
    throw Error(field + ".path: must be an absolute path");
  auto check_list = [&](const std::vector<std::string>& list, const std::string& where) {
    if (list.size() > kMaxHookArgs)
      throw Error(where + ": more than " + std::to_string(kMaxHookArgs) + " entries");
    for (std::size_t i = 0; i < list.size(); ++i)
      check_string(list[i], where + "[" + std::to_string(i) + "]");
  };
  check_list(hook.args, field + ".args");
  if (hook.env) check_list(*hook.env, field + ".env");
  if (hook.timeout &&
      (hook.timeout->count() <= 0 || hook.timeout->count() > kMaxHookTimeoutSeconds))
    throw Error(field + ".timeout: must be 1-" + std::to_string(kMaxHookTimeoutSeconds) +
                " seconds");
}

void run_hook(const Hook& hook, std::string_view state, const std::string& name,
              std::optional<std::chrono::seconds> timeout) {
  const std::string what = name + " " + printable(hook.path, 256);
  // Built before fork: the child of a threaded process must not allocate.
  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  std::vector<char*> argv = c_strings(args);
  std::vector<char*> envp;
  if (hook.env) envp = c_strings(*hook.env);
  char* const* env = hook.env ? envp.data() : environ;
  if (hook.timeout) timeout = hook.timeout;

  Pipe in = make_pipe(), out = make_pipe(), err = make_pipe(), report = make_pipe();
  SigpipeBlocked sigpipe;
  pid_t pid = ::fork();
  if (pid < 0) throw_errno(what + ": fork");
  if (pid == 0) {
    exec_hook(hook.path.c_str(), argv.data(), env,
              {in.read.get(), out.write.get(), err.write.get(), report.write.get()});
  }
  HookChild child(pid);
  in.read.reset();
  out.write.reset();
  err.write.reset();
  report.write.reset();
  for (int fd : {in.write.get(), out.read.get(), err.read.get(), report.read.get()})
    set_nonblocking(fd);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));

  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = timeout ? Clock::now() + *timeout : Clock::time_point::max();
  std::size_t written = 0;
  Tail stdout_tail, stderr_tail;
  std::string exec_error;
  std::optional<int> status;
  bool timed_out = false;
  while (!status) {
    std::array<pollfd, 5> fds{};
    std::size_t count = 0;
    auto add = [&](const UniqueFd& fd, short events) {
      if (fd) fds[count++] = {fd.get(), events, 0};
    };
    add(in.write, POLLOUT);
    add(out.read, POLLIN);
    add(err.read, POLLIN);
    add(report.read, POLLIN);
    add(pidfd, POLLIN);
    int wait_ms = -1;
    if (timeout) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      wait_ms = static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT32_MAX));
    }
    if (!pidfd && (wait_ms < 0 || wait_ms > kExitPollMs)) wait_ms = kExitPollMs;
    if (::poll(fds.data(), count, wait_ms) < 0 && errno != EINTR) throw_errno(what + ": poll");

    if (in.write) {
      ssize_t n = ::write(in.write.get(), state.data() + written, state.size() - written);
      if (n > 0) written += static_cast<std::size_t>(n);
      // EPIPE: the hook does not read its state, which is its business.
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == state.size()) in.write.reset();
    }
    if (out.read && !read_some(out.read.get(), stdout_tail)) out.read.reset();
    if (err.read && !read_some(err.read.get(), stderr_tail)) err.read.reset();
    if (report.read) {
      int error = 0;
      ssize_t n = ::read(report.read.get(), &error, sizeof error);
      if (n == sizeof error) exec_error = std::strerror(error);
      if (n >= 0 || errno != EAGAIN) report.read.reset();
    }
    status = child.wait(WNOHANG);
    if (!status && timeout && Clock::now() >= deadline) {
      ::kill(child.pid(), SIGKILL);
      status = child.wait(0);
      timed_out = true;
    }
  }
  for (auto* stream : {&out, &err}) {
    if (stream->read)
      read_some(stream->read.get(), stream == &out ? stdout_tail : stderr_tail, kMaxDrain);
  }

  if (timed_out)
    throw Error(what + ": did not finish within its timeout of " +
                std::to_string(timeout->count()) + " s (killed)");
  if (!exec_error.empty()) throw Error(what + ": exec: " + exec_error);
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return;
  std::string message = what + ": " + describe_status(*status);
  if (!stderr_tail.empty()) message += "; stderr: " + stderr_tail.line();
  if (!stdout_tail.empty()) message += "; stdout: " + stdout_tail.line();
  throw Error(message);
}

}  // namespace kvrun
