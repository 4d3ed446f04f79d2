// A container's rootfs on a block device (CreateContainer "rootfs": "/dev/vda" in a VM, where
// the host hands the bundle's rootfs over as an erofs or ext4 image on virtio-blk): the device
// is mounted read-only at <state dir>/.lower/<container id> (ids never start with '.', so this
// cannot meet an overlay's scratch directory) and unmounted with the container.
#pragma once

#include <filesystem>
#include <string>
#include <utility>

namespace kvrun::agent {

class BlockRootfs {
 public:
  // Tries erofs, then ext4. Throws Error naming the device and each filesystem's errno;
  // nothing stays mounted or created then.
  static BlockRootfs mount(const std::filesystem::path& state_dir, const std::string& container_id,
                           const std::string& device);

  BlockRootfs(BlockRootfs&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  BlockRootfs& operator=(BlockRootfs&&) = delete;
  BlockRootfs(const BlockRootfs&) = delete;
  BlockRootfs& operator=(const BlockRootfs&) = delete;
  // Unmounts (lazily: an overlay or a process still using it does not block it) and removes it.
  ~BlockRootfs();

  const std::string& path() const { return path_; }

 private:
  explicit BlockRootfs(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// True if path (after symlinks) is a block device.
bool is_block_device(const std::string& path);

}  // namespace kvrun::agent
