#include "agent/guest/power.h"

#include <sys/io.h>
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/error.h"
#include "common/full_io.h"

namespace kvrun::agent {

void console_line(const char* text) {
  try {
    write_all(STDERR_FILENO, std::string(text) + "\n", "console");
  } catch (const Error&) {
    // No console: nothing better to do.
  }
}

void power_off(int status) {
  ::sync();
  // The exit port stops the VM at once: let the console's transmit queue drain first, or the
  // last lines (ours, or the kernel's from another vCPU) are lost.
  ::tcdrain(STDOUT_FILENO);
  ::tcdrain(STDERR_FILENO);
  if (::ioperm(kExitPort, 1, 1) == 0) ::outb(static_cast<unsigned char>(status), kExitPort);
  ::reboot(RB_AUTOBOOT);
  // Only reached if reboot failed (no CAP_SYS_BOOT): there is nothing left but to wait.
  console_line((std::string("kvrun-agent: reboot: ") + std::strerror(errno)).c_str());
  for (;;) ::pause();
}

}  // namespace kvrun::agent
