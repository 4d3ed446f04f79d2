// Host input (kvrun-vmm's stdin) to the guest's UART, driven by the main event loop. Waits
// with epoll where it can (terminal, pipe, socket), polls where it cannot (a regular file or
// /dev/null, which epoll refuses), and holds back while the UART's receive queue is full so
// that nothing is dropped and nothing spins.
#pragma once

#include <termios.h>

#include <array>
#include <cstdint>

#include "vmm/devices/serial.h"

namespace kvrun::vmm {

class ConsoleInput {
 public:
  static constexpr int kPollMs = 10;

  // Starts watching `fd` on `epoll_fd` (data.fd = fd). A closed fd, or a terminal whose
  // foreground we are not (reading it would stop us with SIGTTIN), gives no input at all.
  ConsoleInput(int fd, int epoll_fd, Serial8250& serial);
  ~ConsoleInput();
  ConsoleInput(const ConsoleInput&) = delete;
  ConsoleInput& operator=(const ConsoleInput&) = delete;

  // The longest the event loop may block in epoll_wait: -1 (forever), or kPollMs while input
  // must be looked at without an event (polled fd, or paused on a full queue).
  int wait_timeout_ms() const;

  // Call after every epoll_wait; `ready` says whether it reported this fd.
  void pump(bool ready);

  bool active() const { return mode_ != Mode::kNone; }
  bool paused() const { return paused_; }
  int fd() const { return fd_; }

 private:
  enum class Mode { kNone, kEpoll, kPolled };
  void watch(bool on);
  void finish();

  int fd_;
  int epoll_fd_;
  Serial8250& serial_;
  Mode mode_ = Mode::kNone;
  bool paused_ = false;
  std::array<uint8_t, 4096> buffer_{};
};

// While it lives, a terminal on `fd` is in non-canonical, no-echo mode so keys reach the
// guest as typed and are echoed once, by the guest. ISIG stays on: Ctrl-C still stops the
// VMM. Anything that is not a terminal in our foreground is left alone.
class TerminalMode {
 public:
  explicit TerminalMode(int fd);
  ~TerminalMode();
  TerminalMode(const TerminalMode&) = delete;
  TerminalMode& operator=(const TerminalMode&) = delete;

  bool active() const { return active_; }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

}  // namespace kvrun::vmm
