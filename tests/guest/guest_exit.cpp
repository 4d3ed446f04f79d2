// guest-exit N: stops the VM with exit status N (0-255) through kvrun-vmm's exit port, for test
// scripts running as the guest's /init. Under a VMM without that port (QEMU) it falls back to a
// reboot, so the VM still ends instead of waiting for a test timeout.
#include <sys/io.h>
#include <sys/reboot.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace {

// Must match kvrun::vmm::layout::kExitPort (vmm/boot/layout.h).
constexpr unsigned short kExitPort = 0x510;

}  // namespace

int main(int argc, char** argv) {
  unsigned status = 0;
  if (argc != 2) {
    std::fprintf(stderr, "usage: guest-exit STATUS\n");
    return 2;
  }
  const std::string_view arg = argv[1];
  const auto [end, err] = std::from_chars(arg.data(), arg.data() + arg.size(), status);
  if (err != std::errc() || end != arg.data() + arg.size() || status > 255) {
    std::fprintf(stderr, "guest-exit: %s: not a status between 0 and 255\n", argv[1]);
    return 2;
  }
  ::sync();
  // The port stops the VM at once: let the console's transmit queue drain first.
  ::tcdrain(STDOUT_FILENO);
  ::tcdrain(STDERR_FILENO);
  if (::ioperm(kExitPort, 1, 1) == 0) ::outb(static_cast<unsigned char>(status), kExitPort);
  ::reboot(RB_AUTOBOOT);
  std::fprintf(stderr, "guest-exit: reboot: %s\n", std::strerror(errno));
  return 1;
}
