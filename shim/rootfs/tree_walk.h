// One read of a rootfs tree, entry by entry, for hashing it (tree_key.h) and copying it
// (tree_copy.h) from the same bytes.
//
// The tree belongs to whoever built the image, and may change while it is read. The walker
// never follows a symlink and never opens anything but directories and regular files: every
// entry is first opened O_PATH|O_NOFOLLOW, its type taken from that fd, and only a regular file
// or directory is then opened for reading through it, so a name swapped for a FIFO or a device
// node cannot block the walk or reach a host device. What a visitor sees (the stat, xattrs,
// bytes) all come from the one inode that was opened. Names are visited in byte order.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kvrun::rootfs {

using Xattrs = std::vector<std::pair<std::string, std::string>>;  // sorted by name

struct TreeEntry {
  std::string_view name;  // "" for the root
  std::string_view path;  // relative to the root, "" for the root, for messages and links
  const struct stat& st;
  const Xattrs& xattrs;
  std::string_view link_target;  // symlinks only
};

class TreeVisitor {
 public:
  virtual ~TreeVisitor() = default;
  // A directory's children are visited between enter and leave.
  virtual void enter_directory(const TreeEntry& entry) = 0;
  virtual void leave_directory(const TreeEntry& entry) = 0;
  // A regular file's bytes arrive in chunks; `bytes` is what was read (the file may have
  // changed size since it was stat'ed).
  virtual void begin_file(const TreeEntry& entry) = 0;
  virtual void file_data(std::span<const char> chunk) = 0;
  virtual void end_file(const TreeEntry& entry, std::uint64_t bytes) = 0;
  // Symlinks, device nodes, FIFOs and sockets.
  virtual void special(const TreeEntry& entry) = 0;
  // A further name (at `path`) of a non-directory inode met earlier in this walk at
  // `first_path`.
  virtual void hard_link(std::string_view name, std::string_view path,
                         std::string_view first_path) = 0;
};

// Walks the directory `root` (which itself may be reached through a symlink: it is the
// engine's path, not the image's). Throws Error naming the entry that could not be read.
void walk_tree(const std::filesystem::path& root, TreeVisitor& visitor);

}  // namespace kvrun::rootfs
