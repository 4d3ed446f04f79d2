// The directory a build copies the tree into (tree_copy.h) before mkfs.erofs reads it.
//
// It must be private to us (mode 0700, made fresh with an unguessable name, in a directory
// where nobody else can rename or replace our entries), or the copy would be as changeable as
// the tree it protects against. Small trees go to memory (/dev/shm, tmpfs): creating thousands
// of files on a disk file system costs seconds, on tmpfs a few hundred milliseconds; a tree
// larger than the memory bound, or when tmpfs lacks room, goes to the cache directory itself.
// The memory is held only for the build (the copy is removed once the image exists), and is
// charged to the caller's memory cgroup meanwhile.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/unique_fd.h"
#include "shim/rootfs/cache_dir.h"

namespace kvrun::rootfs {

struct StagingOptions {
  std::filesystem::path memory_dir = "/dev/shm";
  std::uint64_t memory_max_bytes = 512ULL << 20;  // 0: always on disk
};

class Staging {
 public:
  // A new empty directory for a copy of a tree holding `tree_bytes` bytes of file data.
  Staging(const CacheDir& cache, std::uint64_t tree_bytes, const StagingOptions& options);
  ~Staging();
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

  int fd() const { return fd_.get(); }
  const std::filesystem::path& path() const { return path_; }
  bool in_memory() const { return in_memory_; }

  // Removes the copies of builds of this cache that died (call with the cache's lock held).
  static void remove_leftovers(const CacheDir& cache, const StagingOptions& options);

 private:
  UniqueFd parent_fd_;
  std::string name_;
  std::filesystem::path path_;
  UniqueFd fd_;
  bool in_memory_ = false;
};

// 16 random hex digits, for names nobody can create before us.
std::string random_tag();

// Removes `name` in dir_fd and, if a directory, everything in it; never follows a symlink.
void remove_at(int dir_fd, const std::string& name);

}  // namespace kvrun::rootfs
