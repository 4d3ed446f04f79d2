#include "vmm/console_input.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>

namespace kvrun::vmm {

namespace {

// A terminal we do not own the foreground of would stop us (SIGTTIN/SIGTTOU) the moment we
// read from it or change its mode, e.g. under `kvrun-vmm ... &`.
bool is_background_tty(int fd) { return ::isatty(fd) && ::tcgetpgrp(fd) != ::getpgrp(); }

}  // namespace

ConsoleInput::ConsoleInput(int fd, int epoll_fd, Serial8250& serial)
    : fd_(fd), epoll_fd_(epoll_fd), serial_(serial) {
  if (::fcntl(fd, F_GETFD) < 0 || is_background_tty(fd)) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0) {
    mode_ = Mode::kEpoll;
  } else if (errno == EPERM) {
    mode_ = Mode::kPolled;
  } else {
    spdlog::debug("console input fd {}: {}; no console input", fd, std::strerror(errno));
  }
}

ConsoleInput::~ConsoleInput() { finish(); }

int ConsoleInput::wait_timeout_ms() const {
  return (mode_ == Mode::kPolled || paused_) ? kPollMs : -1;
}

// Removed from the set rather than masked: epoll reports a hang-up even for an empty mask,
// which would wake the loop continuously while we wait for the guest to drain the queue.
void ConsoleInput::watch(bool on) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd_;
  ::epoll_ctl(epoll_fd_, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd_, &ev);
  paused_ = !on;
}

void ConsoleInput::finish() {
  if (mode_ == Mode::kEpoll && !paused_) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
  mode_ = Mode::kNone;
  paused_ = false;
}

void ConsoleInput::pump(bool ready) {
  if (mode_ == Mode::kNone) return;
  if (paused_) {
    // Back in the set once there is room; the next epoll_wait says whether there is data.
    // Reading now could block on an idle pipe or terminal.
    if (serial_.input_space() > 0) watch(true);
    return;
  }
  if (mode_ == Mode::kEpoll && !ready) return;
  const size_t space = std::min(serial_.input_space(), buffer_.size());
  if (space == 0) {
    if (mode_ == Mode::kEpoll) watch(false);
    return;  // a polled fd is simply looked at again next turn
  }
  const ssize_t got = ::read(fd_, buffer_.data(), space);
  if (got > 0) {
    serial_.enqueue_input(std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(got)));
  } else if (got == 0) {
    spdlog::debug("console input: end of input");
    finish();
  } else if (errno != EINTR && errno != EAGAIN) {
    spdlog::debug("console input: {}; no more console input", std::strerror(errno));
    finish();
  }
}

TerminalMode::TerminalMode(int fd) : fd_(fd) {
  if (!::isatty(fd) || is_background_tty(fd) || ::tcgetattr(fd, &saved_) < 0) return;
  termios raw = saved_;
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;
  active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
}

TerminalMode::~TerminalMode() {
  if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace kvrun::vmm
