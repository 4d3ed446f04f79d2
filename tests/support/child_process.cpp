#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "common/error.h"

extern char** environ;

namespace kvrun::test {
namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// posix_spawn's attribute and file-action objects must be destroyed on every path.
class SpawnFileActions {
 public:
  SpawnFileActions() {
    if (int err = ::posix_spawn_file_actions_init(&actions_); err != 0)
      throw_errno("posix_spawn_file_actions_init", err);
  }
  ~SpawnFileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;

  void dup2(int fd, int target) {
    if (int err = ::posix_spawn_file_actions_adddup2(&actions_, fd, target); err != 0)
      throw_errno("posix_spawn_file_actions_adddup2", err);
  }
  posix_spawn_file_actions_t* get() { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_;
};

ExitStatus decode(int wait_status) {
  ExitStatus status;
  if (WIFEXITED(wait_status)) {
    status.exited = true;
    status.code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    status.signal = WTERMSIG(wait_status);
  }
  return status;
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exit status " + std::to_string(code);
  std::string text =
      "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  if (killed_after_deadline) text += " because it outlived the test's deadline";
  return text;
}

int ExitStatus::shell_status() const {
  if (killed_after_deadline) return -1;
  return exited ? code : 128 + signal;
}

ChildProcess ChildProcess::spawn(const std::vector<std::string>& argv) {
  if (argv.empty()) throw Error("spawn: empty argv");
  Pipe in = make_pipe();
  Pipe out = make_pipe();
  Pipe err = make_pipe();

  SpawnFileActions actions;
  actions.dup2(in.read.get(), STDIN_FILENO);
  actions.dup2(out.write.get(), STDOUT_FILENO);
  actions.dup2(err.write.get(), STDERR_FILENO);

  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);

  pid_t pid = -1;
  if (int e = ::posix_spawn(&pid, argv[0].c_str(), actions.get(), nullptr, args.data(), environ);
      e != 0)
    throw_errno("spawn " + argv[0], e);

  // Our ends only; the child's copies close with these objects' going out of scope, so EOF on
  // stdout/stderr means the child (and anything it handed them to) has gone.
  for (UniqueFd* fd : {&out.read, &err.read})
    if (::fcntl(fd->get(), F_SETFL, O_NONBLOCK) != 0) throw_errno("fcntl O_NONBLOCK");
  return ChildProcess(pid, std::move(in.write), std::move(out.read), std::move(err.read));
}

ChildProcess::ChildProcess(pid_t pid, UniqueFd in, UniqueFd out, UniqueFd err)
    : pid_(pid), stdin_(std::move(in)), stdout_(std::move(out)), stderr_(std::move(err)) {}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdin_(std::move(other.stdin_)),
      stdout_(std::move(other.stdout_)),
      stderr_(std::move(other.stderr_)),
      stdout_text_(std::move(other.stdout_text_)),
      stderr_text_(std::move(other.stderr_text_)),
      status_(std::exchange(other.status_, std::nullopt)) {}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) kill_and_reap();
}

void ChildProcess::write_stdin(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(stdin_.get(), data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write to child stdin");
    data.remove_prefix(static_cast<size_t>(n));
  }
}

void ChildProcess::send_signal(int signal) {
  if (status_) throw Error("send_signal: child " + std::to_string(pid_) + " already exited");
  if (::kill(pid_, signal) != 0) throw_errno("kill " + std::to_string(pid_));
}

bool ChildProcess::pump(std::chrono::milliseconds timeout) {
  bool progress = false;
  pollfd fds[2];
  std::string* sinks[2];
  nfds_t n = 0;
  for (auto [fd, sink] : {std::pair{&stdout_, &stdout_text_}, {&stderr_, &stderr_text_}}) {
    if (!fd->valid()) continue;
    fds[n] = {fd->get(), POLLIN, 0};
    sinks[n++] = sink;
  }
  if (n == 0) return false;
  int ready = ::poll(fds, n, static_cast<int>(timeout.count()));
  if (ready < 0 && errno != EINTR) throw_errno("poll child output");
  for (nfds_t i = 0; i < n && ready > 0; ++i) {
    if (fds[i].revents == 0) continue;
    char buf[4096];
    ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
    if (got > 0) {
      sinks[i]->append(buf, static_cast<size_t>(got));
      progress = true;
    } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
      (sinks[i] == &stdout_text_ ? stdout_ : stderr_).reset();  // EOF
      progress = true;
    }
  }
  return progress;
}

bool ChildProcess::try_reap() {
  if (status_) return true;
  int wait_status = 0;
  pid_t got = ::waitpid(pid_, &wait_status, WNOHANG);
  if (got < 0) throw_errno("waitpid " + std::to_string(pid_));
  if (got == 0) return false;
  status_ = decode(wait_status);
  return true;
}

void ChildProcess::kill_and_reap() {
  ::kill(pid_, SIGKILL);
  int wait_status = 0;
  while (::waitpid(pid_, &wait_status, 0) < 0 && errno == EINTR) {
  }
  status_ = decode(wait_status);
}

bool ChildProcess::wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (stdout_text_.find(needle) == std::string::npos) {
    if (try_reap()) {
      drain();
      return stdout_text_.find(needle) != std::string::npos;
    }
    if (Clock::now() >= deadline) return false;
    pump(std::min(remaining(deadline), std::chrono::milliseconds(50)));
  }
  return true;
}

std::optional<ExitStatus> ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!try_reap()) {
    if (Clock::now() >= deadline) {
      kill_and_reap();
      status_->killed_after_deadline = true;
      drain();
      return std::nullopt;
    }
    if (stdout_.valid() || stderr_.valid())
      pump(std::min(remaining(deadline), std::chrono::milliseconds(50)));
    else
      ::usleep(10000);  // pipes closed but the child not yet gone
  }
  drain();
  return status_;
}

void ChildProcess::drain() {
  // The child is gone, so all it wrote is in the pipes already: read until they are empty, and
  // never wait for a grandchild that inherited them (it may run for the rest of the test).
  while (pump(std::chrono::milliseconds(0))) {
  }
}

ExitStatus wait_for_process(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int wait_status = 0;
  for (;;) {
    pid_t got = ::waitpid(pid, &wait_status, WNOHANG);
    if (got == pid) return decode(wait_status);
    if (got < 0 && errno != EINTR) throw_errno("waitpid " + std::to_string(pid));
    if (Clock::now() >= deadline) break;
    ::usleep(10000);
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
  }
  ExitStatus status = decode(wait_status);
  status.killed_after_deadline = true;
  return status;
}

ChildProcess run_to_completion(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout, std::string_view input) {
  ChildProcess child = ChildProcess::spawn(argv);
  child.write_stdin(input);
  child.close_stdin();
  child.wait(timeout);
  return child;
}

}  // namespace kvrun::test
