// A mount point inside a container's rootfs, held by an O_PATH descriptor.
//
// The rootfs is the image's: its author chooses what sits at /etc/hosts or /data. A FIFO there
// would block whoever opens it (the container's init, and the agent waiting for it) and a
// device would be opened; a symlink to /proc/1/root/... or ../../.. would carry the mount, or
// a created file, out of the rootfs. So, as runc does: resolve the destination inside the
// rootfs, walk it one component at a time without following any symlink (a swap between the
// check and the use fails instead of escaping), never open the target itself (O_PATH), and
// mount onto /proc/self/fd/N so the kernel mounts on exactly what was checked.
#pragma once

#include <cstdint>
#include <string>

#include "common/unique_fd.h"

namespace kvrun::agent {

class MountTarget {
 public:
  enum class Type {
    kDirectory,  // a directory mount, or a bind of a directory: the target must be a directory
    kFile,       // a bind of a file: anything but a directory, covered by the mount, never opened
  };
  enum class Symlinks {
    kResolveInRoot,  // the image's symlinks are followed as if the rootfs were "/"
    kRefuse,         // proc and sysfs: no symlink anywhere on the way (runc refuses them too)
  };
  enum class Missing { kCreate, kFail };

  // Opens destination (an absolute path in the container) below root (a host path). kCreate
  // makes missing directories (0755) and, for kFile, a missing last component as an empty
  // regular file (0644), like runc. Throws Error naming destination and the reason.
  static MountTarget open(const std::string& root, const std::string& destination, Type type,
                          Symlinks symlinks, Missing missing);

  // mount(2) onto the descriptor (source, type and data as for mount(2)); Error names the
  // destination, not the /proc path. Mounting does not move the descriptor: it still names
  // what the new mount covers, so remounts and propagation changes need a fresh open().
  void mount(const char* source, const char* fs_type, unsigned long flags,
             const std::string& data) const;

  // A readable descriptor of the directory this names (O_RDONLY | O_DIRECTORY); it keeps
  // naming that directory after a mount covers it. Throws Error.
  UniqueFd open_directory() const;

  // MOUNT_ATTR_* on the mount this names and every mount below it (runc's "rro", "rnosuid"...).
  void set_attributes_recursively(std::uint64_t set, std::uint64_t clear) const;

  // /proc/self/fd/N: for calls that take a path (statvfs) and must see exactly this target.
  std::string proc_path() const;
  const std::string& destination() const { return destination_; }

 private:
  MountTarget(UniqueFd fd, std::string destination)
      : fd_(std::move(fd)), destination_(std::move(destination)) {}

  UniqueFd fd_;
  std::string destination_;
};

}  // namespace kvrun::agent
