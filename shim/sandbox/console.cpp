#include "shim/sandbox/console.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "common/error.h"
#include "common/fd_passing.h"

namespace kvrun::sandbox {

HostPty open_host_pty() {
  HostPty pty;
  pty.master = UniqueFd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master) throw_errno("posix_openpt");
  if (::grantpt(pty.master.get()) != 0 || ::unlockpt(pty.master.get()) != 0)
    throw_errno("unlockpt");
  char name[128];
  if (::ptsname_r(pty.master.get(), name, sizeof name) != 0) throw_errno("ptsname");
  pty.name = name;
  // Non-blocking: the relay never waits on a reader of the master for good (stdio_relay.h).
  pty.slave = UniqueFd(::open(name, O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (!pty.slave) throw_errno("open " + pty.name);
  termios mode{};
  if (::tcgetattr(pty.slave.get(), &mode) == 0) {
    ::cfmakeraw(&mode);
    ::tcsetattr(pty.slave.get(), TCSANOW, &mode);
  }
  return pty;
}

void send_console(const std::string& socket_path, int fd, const std::string& name) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof address.sun_path)
    throw Error("--console-socket " + socket_path + ": path too long");
  std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
  UniqueFd sock(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_errno("socket");
  if (::connect(sock.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    throw_errno("connect --console-socket " + socket_path);
  send_with_fd(sock.get(), name, fd, "send the console to " + socket_path);
}

std::optional<winsize> window_size(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_row == 0 || size.ws_col == 0)
    return std::nullopt;
  return size;
}

RawMode::RawMode(int fd) : fd_(fd) {
  if (::isatty(fd) && ::tcgetattr(fd, &saved_) == 0) {
    termios raw = saved_;
    ::cfmakeraw(&raw);
    active_ = ::tcsetattr(fd, TCSANOW, &raw) == 0;
  }
}

RawMode::~RawMode() {
  if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace kvrun::sandbox
