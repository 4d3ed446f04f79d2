#include "shim/containerd/reaper.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error.h"

namespace kvrun::containerd {
namespace {
// Exits nobody claims (grandchildren re-parented to us) must not pile up forever.
constexpr std::size_t kMaxUnclaimedExits = 4096;
}  // namespace

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

Reaper::Reaper() {
  if (::prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) throw_errno("prctl(PR_SET_CHILD_SUBREAPER)");
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (int err = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0) {
    throw_errno("pthread_sigmask", err);
  }
  signal_fd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!signal_fd_) throw_errno("signalfd(SIGCHLD)");
}

void Reaper::run() {
  for (;;) {
    signalfd_siginfo info;
    ssize_t n = ::read(signal_fd_.get(), &info, sizeof info);
    if (n < 0 && errno != EINTR) spdlog::error("reaper: read signalfd: {}", std::strerror(errno));
    // Signals coalesce: one SIGCHLD may stand for several exits, so reap until none is left.
    collect();
  }
}

void Reaper::collect() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    std::lock_guard lock(mutex_);
    if (exits_.size() >= kMaxUnclaimedExits) exits_.erase(exits_.begin());
    exits_[pid] = decode_wait_status(status);
    exited_.notify_all();
  }
}

int Reaper::wait(pid_t pid) {
  std::unique_lock lock(mutex_);
  exited_.wait(lock, [&] { return exits_.contains(pid); });
  int status = exits_[pid];
  exits_.erase(pid);
  return status;
}

}  // namespace kvrun::containerd
