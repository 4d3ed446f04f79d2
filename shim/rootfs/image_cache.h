// Read-only erofs images of rootfs directories, cached by content (tree_key.h) under one
// private directory (cache_dir.h; default /var/cache/kvrun/rootfs): `<key>.erofs`, mode 0600.
// A second run of the same tree reuses the image. Safe for concurrent kvrun processes: one
// lock file (flock) serialises builds and garbage collection, and a build goes to a temporary
// file created O_EXCL, renamed into place.
//
// Trust: the tree is the image author's and may change while it is read. A lookup hashes the
// tree; a build copies the tree into a private directory (staging.h) while hashing the copy's
// bytes (tree_copy.h), runs mkfs.erofs on the copy and stores the image under the copy's key. So an
// image only ever sits under the key of its own content, and a hit serves exactly the content
// that was hashed.
//
// Bound: after every build, images beyond max_bytes are evicted oldest-use first; `kvrun gc`
// also drops images unused for longer than an age. An image's mtime records its last use. An
// image in use stays safe: the monitor holds it open, and unlinking an open file is harmless.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>

#include "common/unique_fd.h"
#include "shim/rootfs/cache_dir.h"
#include "shim/rootfs/staging.h"

namespace kvrun::rootfs {

inline constexpr const char* kDefaultCacheDir = "/var/cache/kvrun/rootfs";
inline constexpr std::uint64_t kDefaultMaxBytes = 8ULL << 30;

struct CachedImage {
  std::filesystem::path path;
  UniqueFd fd;  // open read-only: the image cannot vanish under its user
  std::string key;
  bool hit = false;
};

class ImageCache {
 public:
  // Creates or checks the directory (cache_dir.h). Throws Error if it cannot be trusted.
  explicit ImageCache(std::filesystem::path dir, std::uint64_t max_bytes = kDefaultMaxBytes,
                      StagingOptions staging = {});

  // The image for rootfs, built if missing. Throws Error with mkfs.erofs's reason on failure.
  CachedImage get(const std::filesystem::path& rootfs);

  // Removes images last used longer than max_age ago, then the oldest until the cache is within
  // max_bytes; keeps those whose path is in `keep`. Returns how many were removed.
  std::size_t collect(std::chrono::seconds max_age, const std::set<std::filesystem::path>& keep);
  // Removes every image (kvrun gc --all).
  std::size_t clear();

  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  std::size_t evict(std::chrono::seconds max_age, const std::set<std::filesystem::path>& keep);
  UniqueFd open_cached(const std::string& name);
  void build(const std::filesystem::path& rootfs, std::uint64_t tree_bytes, CachedImage& image);
  void remove_leftovers();

  CacheDir dir_;
  std::uint64_t max_bytes_;
  StagingOptions staging_;
};

}  // namespace kvrun::rootfs
