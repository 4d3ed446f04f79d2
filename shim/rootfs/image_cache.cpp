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
#include "shim/rootfs/tree_key.h"

namespace kvrun::rootfs {
namespace {

// Changing the builder's options must change every key.
constexpr std::string_view kKeySalt = "kvrun-rootfs erofs v1 uncompressed";
constexpr std::string_view kSuffix = ".erofs";

class CacheLock {
 public:
  explicit CacheLock(const std::filesystem::path& dir)
      : fd_(::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (!fd_) throw_errno("open " + (dir / ".lock").string());
    while (::flock(fd_.get(), LOCK_EX) != 0) {
      if (errno != EINTR) throw_errno("flock " + (dir / ".lock").string());
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
    if (!file.is_regular_file() || file.path().extension() != kSuffix) continue;
    entries.push_back({file.path(), file.file_size(), file.last_write_time()});
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  return entries;
}

UniqueFd open_image(const std::filesystem::path& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
}

}  // namespace

ImageCache::ImageCache(std::filesystem::path dir, std::uint64_t max_bytes)
    : dir_(std::move(dir)), max_bytes_(max_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw Error("rootfs cache " + dir_.string() + ": " + ec.message());
}

CachedImage ImageCache::get(const std::filesystem::path& rootfs) {
  CachedImage image;
  image.key = tree_key(rootfs, kKeySalt);
  image.path = dir_ / (image.key + std::string(kSuffix));
  CacheLock lock(dir_);
  image.fd = open_image(image.path);
  if (image.fd) {
    image.hit = true;
    ::futimens(image.fd.get(), nullptr);  // last use, for gc
    return image;
  }
  auto temp = dir_ / (".build-" + image.key + "-" + std::to_string(::getpid()));
  spdlog::debug("building rootfs image {} from {}", image.path.string(), rootfs.string());
  shim::CommandResult result =
      shim::run_command({"mkfs.erofs", "--quiet", temp.string(), rootfs.string()});
  if (result.status != 0) {
    ::unlink(temp.c_str());
    throw Error("rootfs image of " + rootfs.string() +
                ": mkfs.erofs failed: " + shim::last_line(result.output));
  }
  if (::rename(temp.c_str(), image.path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    throw_errno("rename " + image.path.string(), err);
  }
  image.fd = open_image(image.path);
  if (!image.fd) throw_errno("open " + image.path.string());
  evict(std::chrono::seconds::max(), {image.path});
  return image;
}

std::size_t ImageCache::collect(std::chrono::seconds max_age,
                                const std::set<std::filesystem::path>& keep) {
  CacheLock lock(dir_);
  return evict(max_age, keep);
}

std::size_t ImageCache::evict(std::chrono::seconds max_age,
                              const std::set<std::filesystem::path>& keep) {
  auto entries = images(dir_);
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
  for (const auto& entry : images(dir_)) {
    std::error_code ec;
    if (std::filesystem::remove(entry.path, ec)) ++removed;
  }
  return removed;
}

}  // namespace kvrun::rootfs
