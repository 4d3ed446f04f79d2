#include "agent/container/pty.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "common/error.h"

namespace kvrun::agent {
namespace {

// /dev/ptmx and every devpts instance's ptmx are character device 5:2.
constexpr unsigned kPtmxMajor = 5, kPtmxMinor = 2;

}  // namespace

Pty open_pty(const spec::ProcessSpec& process) {
  Pty pty;
  // The container owns its /dev: make sure it did not swap ptmx for something else.
  pty.master = UniqueFd(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.master) throw_errno("open /dev/ptmx in the container");
  struct stat st;
  if (::fstat(pty.master.get(), &st) != 0 || !S_ISCHR(st.st_mode) ||
      major(st.st_rdev) != kPtmxMajor || minor(st.st_rdev) != kPtmxMinor) {
    throw Error("/dev/ptmx in the container is not the pty multiplexer");
  }
  if (::unlockpt(pty.master.get()) != 0) throw_errno("unlockpt");
  // TIOCGPTPEER opens the slave through the master, not by a path the container controls.
  pty.slave = UniqueFd(::ioctl(pty.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.slave) throw_errno("open the pty slave (TIOCGPTPEER)");
  if (process.console_rows != 0 && process.console_cols != 0) {
    resize_pty(pty.master.get(), process.console_rows, process.console_cols);
  }
  return pty;
}

void make_controlling_terminal(int slave) {
  if (::setsid() < 0) throw_errno("setsid");
  if (::ioctl(slave, TIOCSCTTY, 0) != 0) throw_errno("TIOCSCTTY");
  for (int fd = 0; fd <= 2; ++fd) {
    if (::dup2(slave, fd) < 0) throw_errno("dup2 the pty slave");
  }
}

void resize_pty(int master, unsigned short rows, unsigned short cols) {
  winsize size{};
  size.ws_row = rows;
  size.ws_col = cols;
  if (::ioctl(master, TIOCSWINSZ, &size) != 0) throw_errno("TIOCSWINSZ");
}

}  // namespace kvrun::agent
