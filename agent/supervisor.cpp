#include "agent/supervisor.h"

#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "common/error.h"

namespace kvrun::agent {

Supervisor::Supervisor(EventLoop& loop, ExitHandler on_exit) : on_exit_(std::move(on_exit)) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  if (::sigprocmask(SIG_BLOCK, &mask, nullptr) != 0) throw_errno("block SIGCHLD");
  signal_fd_ = UniqueFd(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!signal_fd_) throw_errno("signalfd SIGCHLD");
  watch_ = loop.watch(signal_fd_.get(), EPOLLIN, [this](std::uint32_t) { reap(); });
}

void Supervisor::reap() {
  // Signals coalesce: one SIGCHLD may stand for many exits, so drain and then wait for all.
  signalfd_siginfo info;
  while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
  }
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) return;  // ECHILD or nothing more exited
    on_exit_(pid, status);
  }
}

}  // namespace kvrun::agent
