// kvrun-init: PID 1 of the guest until the agent takes over.
//
// It proves a booted guest is usable: mounts the pseudo filesystems, reports how long the kernel
// took to get here, then stops the VM. kvrun-vmm has no ACPI, so reboot(RB_POWER_OFF) would only
// halt the vCPUs; instead init writes status 0 to kvrun's exit port and, if that is unavailable
// (QEMU, or a kernel without ioperm), falls back to reboot(RB_AUTOBOOT), which with reboot=k is
// an i8042 reset that both kvrun-vmm and `qemu -no-reboot` treat as a clean stop.
//
// `kvrun.init=stay` on the kernel command line keeps it running as a reaper instead.

#include <fcntl.h>
#include <sys/io.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

// Must match kvrun::vmm::layout::kExitPort (vmm/boot/layout.h).
constexpr unsigned short kExitPort = 0x510;

class InitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void throw_errno(const std::string& what, int err = errno) {
  throw InitError(what + ": " + std::strerror(err));
}

// Console output goes through write(2): stdio buffering must not lose the last lines when the
// VM stops right after them.
void say(std::string_view line) {
  std::string text = "kvrun-init: " + std::string(line) + "\n";
  std::string_view rest = text;
  while (!rest.empty()) {
    ssize_t n = ::write(STDOUT_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // no console: nothing better to do
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

bool exists(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0;
}

// Mounts `type` on `target` unless something is already mounted there (the kernel's devtmpfs
// automount, or a later agent remounting). EBUSY means it already is.
void mount_if_missing(const char* type, const char* target, const char* marker) {
  if (exists(marker)) return;
  if (::mkdir(target, 0755) != 0 && errno != EEXIST) throw_errno(std::string("mkdir ") + target);
  if (::mount(type, target, type, MS_NOSUID | MS_NOEXEC, nullptr) != 0 && errno != EBUSY)
    throw_errno(std::string("mount ") + type + " on " + target);
}

// The kernel opens /dev/console for init only if the initramfs has the node; ours may not (it
// is built without root), so once devtmpfs is up make sure fds 0-2 point at the console.
void ensure_console() {
  if (::fcntl(STDOUT_FILENO, F_GETFD) != -1) return;
  int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0) return;  // nowhere to report it; the VMM's timeout will
  for (int target = 0; target <= 2; ++target) ::dup2(fd, target);
  if (fd > 2) ::close(fd);
}

std::string read_file(const char* path) {
  std::ifstream in(path);
  if (!in) throw_errno(std::string("open ") + path);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

// True if the whitespace-separated kernel command line contains exactly `word`.
bool cmdline_has(const std::string& cmdline, std::string_view word) {
  std::istringstream words(cmdline);
  std::string w;
  while (words >> w)
    if (w == word) return true;
  return false;
}

[[noreturn]] void stay_as_reaper() {
  say("staying (kvrun.init=stay)");
  for (;;) {
    if (::waitpid(-1, nullptr, 0) < 0 && errno == ECHILD) ::pause();
  }
}

[[noreturn]] void stop_vm(unsigned char status) {
  ::sync();
  // The exit port stops the VM at once: let the console's transmit queue drain first, or the
  // last lines (ours, or the kernel's from another vCPU) are lost.
  ::tcdrain(STDOUT_FILENO);
  // iopl/ioperm need CONFIG_X86_IOPL_IOPERM; without it we go straight to the reset path.
  if (::ioperm(kExitPort, 1, 1) == 0) {
    ::outb(status, kExitPort);
  }
  ::reboot(RB_AUTOBOOT);
  // Only reached if reboot failed (not PID 1, or no CAP_SYS_BOOT): exiting PID 1 panics the
  // kernel, which kvrun-vmm also reports.
  say(std::string("reboot: ") + std::strerror(errno));
  ::_exit(1);
}

void run() {
  mount_if_missing("devtmpfs", "/dev", "/dev/null");
  ensure_console();
  mount_if_missing("proc", "/proc", "/proc/self");
  mount_if_missing("sysfs", "/sys", "/sys/kernel");

  std::istringstream uptime_file(read_file("/proc/uptime"));
  std::string uptime;
  if (!(uptime_file >> uptime)) throw InitError("/proc/uptime: unexpected content");
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  say("ready uptime=" + uptime + " cpus=" + std::to_string(cpus));

  if (cmdline_has(read_file("/proc/cmdline"), "kvrun.init=stay")) stay_as_reaper();
}

}  // namespace

int main() {
  unsigned char status = 0;
  try {
    run();
  } catch (const std::exception& e) {
    say(e.what());
    status = 1;
  }
  stop_vm(status);
}
