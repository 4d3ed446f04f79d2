#include "shim/rootfs/image_cache.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <system_error>
#include <vector>

#include "common/error.h"
#include "shim/common/command.h"
#include "shim/rootfs/staging.h"
#include "shim/rootfs/tree_copy.h"
#include "shim/rootfs/tree_key.h"

namespace kvrun::rootfs {
namespace {

// Changing the builder's options or the key's encoding must change every key.
constexpr std::string_view kKeySalt = "kvrun-rootfs erofs v2 uncompressed, content key";
constexpr std::string_view kSuffix = ".erofs";
constexpr std::string_view kBuildPrefix = ".build-";

class CacheLock {
 public:
  explicit CacheLock(const CacheDir& dir)
      : fd_(::openat(dir.fd(), ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) {
    std::string path = (dir.path() / ".lock").string();
    if (!fd_) throw_errno("open " + path);
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) throw_errno("stat " + path);
    if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file");
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw_errno("flock " + path);
    }
  }

 private:
  UniqueFd fd_;
};

struct Entry {
  std::filesystem::path path;
  std::uint64_t size = 0;
  std::filesystem::file_time_type used;
};

std::vector<Entry> images(const std::filesystem::path& dir) {
  std::vector<Entry> entries;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    if (file.symlink_status().type() != std::filesystem::file_type::regular ||
        file.path().extension() != kSuffix)
      continue;
    entries.push_back({file.path(), file.file_size(), file.last_write_time()});
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  return entries;
}

// A name in the cache directory that goes away unless kept.
class Scratch {
 public:
  Scratch(int dir_fd, std::string name) : dir_fd_(dir_fd), name_(std::move(name)) {}
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    if (name_.empty()) return;
    try {
      remove_at(dir_fd_, name_);
    } catch (const Error& e) {
      spdlog::warn("rootfs cache: {}", e.what());
    }
  }
  const std::string& name() const { return name_; }
  void keep() { name_.clear(); }

 private:
  int dir_fd_;
  std::string name_;
};

}  // namespace

ImageCache::ImageCache(std::filesystem::path dir, std::uint64_t max_bytes, StagingOptions staging)
    : dir_(std::move(dir)), max_bytes_(max_bytes), staging_(std::move(staging)) {}

// Only a regular file we own, reached without following a symlink, is an image: anything
// else under an image's name was not put there by this cache, and is removed.
UniqueFd ImageCache::open_cached(const std::string& name) {
  struct stat st {};
  if (::fstatat(dir_.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    throw_errno("stat " + (dir_.path() / name).string());
  }
  UniqueFd fd;
  if (S_ISREG(st.st_mode) && st.st_uid == ::geteuid() && st.st_nlink == 1)
    fd.reset(::openat(dir_.fd(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
  struct stat opened {};
  if (!fd || ::fstat(fd.get(), &opened) != 0 || opened.st_ino != st.st_ino) {
    spdlog::warn("rootfs cache: {} is not an image this cache made; removing it",
                 (dir_.path() / name).string());
    remove_at(dir_.fd(), name);
    return {};
  }
  if ((opened.st_mode & 07777) != 0600) ::fchmod(fd.get(), 0600);
  return fd;
}

CachedImage ImageCache::get(const std::filesystem::path& rootfs) {
  CachedImage image;
  TreeHasher hasher(kKeySalt);
  walk_tree(rootfs, hasher);
  image.key = hasher.key();
  CacheLock lock(dir_);
  std::string name = image.key + std::string(kSuffix);
  image.fd = open_cached(name);
  if (image.fd) {
    image.path = dir_.path() / name;
    image.hit = true;
    ::futimens(image.fd.get(), nullptr);  // last use, for gc
    return image;
  }
  build(rootfs, hasher.file_bytes(), image);
  evict(std::chrono::seconds::max(), {image.path});
  return image;
}

// Under the lock, so every scratch name present belongs to a build that died.
void ImageCache::remove_leftovers() {
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(kBuildPrefix)) {
      spdlog::debug("rootfs cache: removing leftover {}", name);
      remove_at(dir_.fd(), name);
    }
  }
  Staging::remove_leftovers(dir_, staging_);
}

void ImageCache::build(const std::filesystem::path& rootfs, std::uint64_t tree_bytes,
                       CachedImage& image) {
  remove_leftovers();
  Staging stage(dir_, tree_bytes, staging_);
  std::string key = copy_tree(rootfs, stage.fd(), kKeySalt);
  if (key != image.key) {
    spdlog::warn("rootfs {} changed while it was read; its image is keyed by the copy built",
                 rootfs.string());
    image.key = key;
  }
  std::string name = image.key + std::string(kSuffix);
  Scratch temp(dir_.fd(), std::string(kBuildPrefix) + random_tag());
  UniqueFd out(::openat(dir_.fd(), temp.name().c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) throw_errno("create " + (dir_.path() / temp.name()).string());
  spdlog::debug("building rootfs image {} from {}", name, rootfs.string());
  shim::CommandResult result = shim::run_command(
      {"mkfs.erofs", "--quiet", (dir_.path() / temp.name()).string(), stage.path().string()});
  if (result.status != 0) {
    throw Error("rootfs image of " + rootfs.string() +
                ": mkfs.erofs failed: " + shim::last_line(result.output));
  }
  if (::fchmod(out.get(), 0600) != 0) throw_errno("chmod " + temp.name());
  if (::renameat(dir_.fd(), temp.name().c_str(), dir_.fd(), name.c_str()) != 0)
    throw_errno("rename " + (dir_.path() / name).string());
  temp.keep();
  image.path = dir_.path() / name;
  image.fd = open_cached(name);
  if (!image.fd) throw Error("open " + image.path.string() + ": gone after its build");
}

std::size_t ImageCache::collect(std::chrono::seconds max_age,
                                const std::set<std::filesystem::path>& keep) {
  CacheLock lock(dir_);
  return evict(max_age, keep);
}

std::size_t ImageCache::evict(std::chrono::seconds max_age,
                              const std::set<std::filesystem::path>& keep) {
  auto entries = images(dir_.path());
  std::uint64_t total = 0;
  for (const auto& entry : entries) total += entry.size;
  auto now = std::filesystem::file_time_type::clock::now();
  std::size_t removed = 0;
  for (const auto& entry : entries) {  // oldest use first
    if (keep.count(entry.path) != 0) continue;
    bool too_old = max_age != std::chrono::seconds::max() && now - entry.used > max_age;
    if (!too_old && total <= max_bytes_) continue;
    std::error_code ec;
    if (std::filesystem::remove(entry.path, ec)) {
      total -= entry.size;
      ++removed;
      spdlog::debug("rootfs cache: removed {}", entry.path.string());
    }
  }
  return removed;
}

std::size_t ImageCache::clear() {
  CacheLock lock(dir_);
  std::size_t removed = 0;
  for (const auto& entry : images(dir_.path())) {
    std::error_code ec;
    if (std::filesystem::remove(entry.path, ec)) ++removed;
  }
  return removed;
}

}  // namespace kvrun::rootfs
