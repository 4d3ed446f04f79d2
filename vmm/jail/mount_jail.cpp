#include "vmm/jail/mount_jail.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>

#include "common/error.h"

namespace kvrun::vmm::jail {
namespace {

constexpr unsigned long kLockedDown = MS_NOSUID | MS_NODEV | MS_NOEXEC;

void mkdirs(const std::filesystem::path& path, mode_t mode) {
  std::filesystem::path partial;
  for (const auto& part : path) {
    partial /= part;
    if (::mkdir(partial.c_str(), mode) != 0 && errno != EEXIST)
      throw_errno("jail: mkdir " + partial.string());
  }
}

void mount_or_throw(const char* source, const std::string& target, const char* type,
                    unsigned long flags, const char* data, const std::string& what) {
  if (::mount(source, target.c_str(), type, flags, data) != 0) throw_errno("jail: " + what);
}

bool inside(const std::filesystem::path& path, const std::filesystem::path& dir) {
  auto [end, ignored] = std::mismatch(dir.begin(), dir.end(), path.begin(), path.end());
  return end == dir.end();
}

}  // namespace

void enter_mount_jail(const std::vector<std::filesystem::path>& dirs) {
  std::error_code ec;
  const std::filesystem::path cwd = std::filesystem::current_path(ec);

  if (::unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS) != 0)
    throw_errno("jail: unshare mount, IPC and UTS namespaces");
  // Nothing we mount reaches the host, and nothing the host mounts later reaches us.
  mount_or_throw(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr, "make / private");

  const std::string root = kJailMountPoint;
  mkdirs(root, 0700);
  // Small on purpose: nothing is ever written here but the mount points.
  mount_or_throw("kvrun-vmm-jail", root, "tmpfs", kLockedDown, "size=64k,nr_inodes=256,mode=0711",
                 "tmpfs on " + root);
  for (const auto& dir : dirs) {
    if (!dir.is_absolute()) throw Error("jail: " + dir.string() + " is not an absolute path");
    const std::string target = root + dir.string();
    mkdirs(target, 0711);
    mount_or_throw(dir.c_str(), target, nullptr, MS_BIND, nullptr, "bind " + dir.string());
    // A bind mount takes new flags only through a remount.
    mount_or_throw(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | kLockedDown,
                   nullptr, "read-only " + dir.string());
  }

  // pivot_root(".", "."): the old root ends up stacked on the new one and is detached at
  // once, leaving no directory of it in the jail (runc's way, without a put_old directory).
  if (::chdir(root.c_str()) != 0) throw_errno("jail: chdir " + root);
  if (::syscall(SYS_pivot_root, ".", ".") != 0) throw_errno("jail: pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) throw_errno("jail: detach the old root");
  if (::chdir("/") != 0) throw_errno("jail: chdir /");
  mount_or_throw(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | kLockedDown, nullptr,
                 "read-only root");

  // A relative --vsock uds= keeps working when it named a file in the working directory.
  for (const auto& dir : dirs) {
    if (!cwd.empty() && inside(cwd, dir)) {
      if (::chdir(cwd.c_str()) != 0) throw_errno("jail: chdir " + cwd.string());
      break;
    }
  }
}

}  // namespace kvrun::vmm::jail
