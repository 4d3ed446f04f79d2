// containerd hands the container's root filesystem over as mounts (the snapshotter's overlay or
// bind) for the shim to mount on <bundle>/rootfs before the runtime reads it; kvrun then builds
// its read-only image from that tree.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kvrun::containerd {

struct MountSpec {
  std::string type;  // "overlay", "bind", or a filesystem type
  std::string source;
  std::vector<std::string> options;
};

struct MountFlags {
  unsigned long flags = 0;
  std::string data;  // the options mount(2) does not know as flags, comma-separated
  bool recursive_bind = false;
};

// Splits fstab-style options into mount(2) flags and filesystem data. Throws Error on an
// option that would need a propagation change or is empty.
MountFlags parse_mount_options(const std::vector<std::string>& options);

// Mounts each spec on target in order; on failure unmounts what it mounted and throws Error
// naming the mount. Returns how many mounts it made.
std::size_t mount_rootfs(const std::vector<MountSpec>& mounts, const std::filesystem::path& target);
// Unmounts target until nothing is mounted there (lazily if busy). Never throws.
void unmount_rootfs(const std::filesystem::path& target);

}  // namespace kvrun::containerd
