// The rootfs cache's directory, made private before anything is read from or written to it.
//
// Images hold whole container filesystems, and whoever can write the directory chooses what
// the next container runs. So the directory must be ours (owned by our euid, root in
// production), mode 0700, not a symlink, and reached only through directories that nobody else
// can rename or replace (owned by root or us, not group/other writable unless sticky, as
// sshd's StrictModes asks of ~/.ssh). A directory left 0755 by an older kvrun is tightened to
// 0700 and its images to 0600; a directory that fails the other checks is refused.
#pragma once

#include <filesystem>

#include "common/unique_fd.h"

namespace kvrun::rootfs {

class CacheDir {
 public:
  // Creates the directory (0700) if missing. Throws Error saying which check failed.
  explicit CacheDir(std::filesystem::path path);

  const std::filesystem::path& path() const { return path_; }
  int fd() const { return fd_.get(); }

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
};

}  // namespace kvrun::rootfs
