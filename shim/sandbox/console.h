// Terminals on the host side (process.terminal): the container's pty lives in the guest, and the
// host end is either a pty pair of our own whose master goes to --console-socket (as runc hands
// its console to conmon and containerd), or the caller's own terminal on fds 0/1.
#pragma once

#include <sys/ioctl.h>
#include <termios.h>

#include <optional>
#include <string>

#include "common/unique_fd.h"

namespace kvrun::sandbox {

struct HostPty {
  UniqueFd master;
  UniqueFd slave;  // raw mode: the guest's pty already does the line discipline
  std::string name;
};

// Opens a pty pair. The slave becomes the caller's controlling terminal when the caller is a
// session leader without one, so window changes on the master arrive as SIGWINCH.
HostPty open_host_pty();

// Connects to the unix socket at path and sends fd with SCM_RIGHTS (payload: the pty's name).
void send_console(const std::string& socket_path, int fd, const std::string& name);

std::optional<winsize> window_size(int fd);

// Puts a terminal into raw mode and restores it on destruction (kvrun run -t in a terminal).
class RawMode {
 public:
  explicit RawMode(int fd);
  ~RawMode();
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;

 private:
  int fd_;
  bool active_ = false;
  termios saved_{};
};

}  // namespace kvrun::sandbox
