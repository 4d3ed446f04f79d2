#include "agent/guest/system_mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent {
namespace {

// A different device than its parent's: something is mounted there already.
bool is_mount_point(const char* path) {
  struct stat here, parent;
  std::string up = std::string(path) + "/..";
  if (::stat(path, &here) != 0 || ::stat(up.c_str(), &parent) != 0) return false;
  return here.st_dev != parent.st_dev;
}

void mount_once(const char* type, const char* target, unsigned long flags, const char* data) {
  if (::mkdir(target, 0755) != 0 && errno != EEXIST) throw_errno(std::string("mkdir ") + target);
  if (is_mount_point(target)) return;
  if (::mount(type, target, type, flags, data) != 0) {
    throw_errno(std::string("mount ") + type + " on " + target);
  }
}

// Children (the containers' cgroups under /kvrun) may only use controllers their parent
// enables; the root enables all it has.
void enable_all_controllers(const std::string& root) {
  std::ifstream in(root + "/cgroup.controllers");
  if (!in) throw Error("read " + root + "/cgroup.controllers: not a cgroup2 mount");
  std::string name, enable;
  while (in >> name) enable += (enable.empty() ? "+" : " +") + name;
  if (enable.empty()) return;
  std::string path = root + "/cgroup.subtree_control";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_errno("open " + path);
  if (::write(fd.get(), enable.data(), enable.size()) < 0) {
    throw_errno("write \"" + enable + "\" to " + path);
  }
}

// pivot_root(2) refuses to move away from the initial rootfs (the initramfs), which every
// container's setup needs. So the agent first roots itself in a bind mount of it, moved on top of
// "/" as switch_root does: the same files, but a mount that has a parent.
void root_in_a_bind_mount() {
  const char* staging = "/.kvrun-root";
  if (::mkdir(staging, 0700) != 0 && errno != EEXIST) throw_errno("mkdir /.kvrun-root");
  if (::mount("/", staging, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    throw_errno("bind / on /.kvrun-root");
  }
  if (::chdir(staging) != 0) throw_errno("chdir /.kvrun-root");
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) throw_errno("move the root bind to /");
  if (::chroot(".") != 0) throw_errno("chroot into the root bind");
  if (::chdir("/") != 0) throw_errno("chdir /");
  ::rmdir(staging);  // the same directory, seen through the bind; nothing is mounted there now
}

}  // namespace

void mount_guest_filesystems() {
  constexpr unsigned long kSafe = MS_NOSUID | MS_NOEXEC | MS_NODEV;
  root_in_a_bind_mount();
  mount_once("devtmpfs", "/dev", MS_NOSUID | MS_NOEXEC, "mode=0755");
  ensure_console();
  mount_once("proc", "/proc", kSafe, nullptr);
  mount_once("sysfs", "/sys", kSafe, nullptr);
  mount_once("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
  mount_once("tmpfs", "/dev/shm", kSafe, "mode=1777");
  mount_once("cgroup2", "/sys/fs/cgroup", kSafe, "nsdelegate");
  enable_all_controllers("/sys/fs/cgroup");
  mount_once("tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755");
  mount_once("tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
}

void ensure_console() {
  if (::fcntl(STDOUT_FILENO, F_GETFD) != -1) return;
  int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0) return;  // nowhere to say so; the VMM's timeout will
  for (int target = 0; target <= 2; ++target) ::dup2(fd, target);
  if (fd > 2) ::close(fd);
}

}  // namespace kvrun::agent
