// The cache key of a rootfs tree: SHA-256 over everything mkfs.erofs puts in the image.
//
// Walk order is sorted by name (tree_walk.h); every entry is one record, and every field of a
// record is a fixed-width integer or a length-prefixed byte string, so no name, target or
// xattr value can shift a field boundary or fake a record:
//   tag (directory, end of directory, file, symlink, char/block device, FIFO, socket, hard
//   link), name, st_mode (type and permission bits), uid, gid, mtime, xattrs (count, then
//   sorted name/value pairs); then per type: the length read and SHA-256 of a file's bytes,
//   a symlink's target, a device's st_rdev, a hard link's first path.
// Content, not just metadata: size and mtime are chosen by the image's author, so two trees
// with the same metadata and different bytes must not share an image (one tenant's image
// served to another).
// Left out on purpose: the mtimes of directories and of empty regular files. Engines create
// mount points (directories, empty files such as /etc/hosts) fresh in each container's
// rootfs; keying them would make every container miss the cache, and a timestamp alone
// changes nothing a container runs. The copy (tree_copy.h) still carries them into the image.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "shim/rootfs/sha256.h"
#include "shim/rootfs/tree_walk.h"

namespace kvrun::rootfs {

// Feeds the records of a walk into one hash.
class TreeHasher : public TreeVisitor {
 public:
  explicit TreeHasher(std::string_view salt);
  // Hex SHA-256 (64 characters), once the walk is done.
  std::string key();
  // Bytes of file data read so far (sizes the build's copy).
  std::uint64_t file_bytes() const { return file_bytes_; }

  void enter_directory(const TreeEntry& entry) override;
  void leave_directory(const TreeEntry& entry) override;
  void begin_file(const TreeEntry& entry) override;
  void file_data(std::span<const char> chunk) override;
  void end_file(const TreeEntry& entry, std::uint64_t bytes) override;
  void special(const TreeEntry& entry) override;
  void hard_link(std::string_view name, std::string_view path,
                 std::string_view first_path) override;

 private:
  void u64(std::uint64_t value);
  void bytes(std::string_view value);
  void head(char tag, const TreeEntry& entry, bool with_mtime);

  Sha256 tree_;
  Sha256 file_;  // the current file's bytes
  std::uint64_t file_bytes_ = 0;
};

// The key of the tree under root as it is read now. `salt` separates image formats and
// builder versions. Throws Error naming the path that could not be read.
std::string tree_key(const std::filesystem::path& root, std::string_view salt);

}  // namespace kvrun::rootfs
