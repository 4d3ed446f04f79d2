#include "shim/rootfs/staging.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <vector>

#include "common/error.h"

namespace kvrun::rootfs {
namespace {

constexpr std::string_view kPrefix = ".kvrun-stage-";

// Names carry the cache directory's identity, so that a build cleaning up after dead builds
// of its own cache never removes the copy of a live build of another cache.
std::string prefix_of(const CacheDir& cache) {
  struct stat st {};
  if (::fstat(cache.fd(), &st) != 0) throw_errno("stat " + cache.path().string());
  char text[64];
  std::snprintf(text, sizeof text, "%llx-%llx-", static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  return std::string(kPrefix) + text;
}

// Nobody but root or us may rename or replace entries (sticky when others may write).
bool safe_parent(const struct stat& st) {
  bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0;
  return S_ISDIR(st.st_mode) && (st.st_uid == 0 || st.st_uid == ::geteuid()) && !others_write;
}

// The memory directory, if it is a safe tmpfs with room for the copy (twice its size: other
// users of /dev/shm may grow meanwhile).
UniqueFd memory_dir(const StagingOptions& options, std::uint64_t tree_bytes) {
  if (tree_bytes > options.memory_max_bytes || options.memory_dir.empty()) return {};
  UniqueFd fd(::open(options.memory_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return {};
  struct stat st {
  }, parent{};
  struct statfs fs {};
  struct statvfs room {};
  if (::fstat(fd.get(), &st) != 0 || !safe_parent(st) ||
      ::stat(options.memory_dir.parent_path().c_str(), &parent) != 0 || !safe_parent(parent) ||
      ::fstatfs(fd.get(), &fs) != 0 || fs.f_type != TMPFS_MAGIC || ::fstatvfs(fd.get(), &room) != 0)
    return {};
  std::uint64_t free_bytes = static_cast<std::uint64_t>(room.f_bavail) * room.f_frsize;
  if (free_bytes / 2 < tree_bytes + (16 << 20)) return {};
  return fd;
}

std::vector<std::string> names_in(int dir_fd) {
  std::vector<std::string> names;
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) throw_errno("dup");
  DIR* dir = ::fdopendir(dup_fd);
  if (!dir) {
    int err = errno;
    ::close(dup_fd);
    throw_errno("opendir", err);
  }
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(dir);
  return names;
}

}  // namespace

std::string random_tag() {
  unsigned char bytes[8];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    throw_errno("getrandom");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string tag;
  for (unsigned char byte : bytes) {
    tag += kDigits[byte >> 4];
    tag += kDigits[byte & 15];
  }
  return tag;
}

void remove_at(int dir_fd, const std::string& name) {
  if (::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return;
  if (errno != EISDIR && errno != EPERM) throw_errno("unlink " + name);
  // Made writable first: a copy may hold read-only directories.
  ::fchmodat(dir_fd, name.c_str(), 0700, AT_SYMLINK_NOFOLLOW);
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) throw_errno("open " + name);
  for (const auto& child : names_in(fd.get())) remove_at(fd.get(), child);
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0) throw_errno("rmdir " + name);
}

Staging::Staging(const CacheDir& cache, std::uint64_t tree_bytes, const StagingOptions& options) {
  std::filesystem::path parent = options.memory_dir;
  parent_fd_ = memory_dir(options, tree_bytes);
  in_memory_ = parent_fd_.valid();
  if (!in_memory_) {
    parent = cache.path();
    parent_fd_.reset(::fcntl(cache.fd(), F_DUPFD_CLOEXEC, 0));
    if (!parent_fd_) throw_errno("dup");
  }
  name_ = prefix_of(cache) + random_tag();
  path_ = parent / name_;
  if (::mkdirat(parent_fd_.get(), name_.c_str(), 0700) != 0) {
    name_.clear();
    throw_errno("mkdir " + path_.string());
  }
  fd_.reset(
      ::openat(parent_fd_.get(), name_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!fd_ || ::fstat(fd_.get(), &st) != 0 || st.st_uid != ::geteuid() ||
      (st.st_mode & 07777) != 0700)
    throw Error("staging directory " + path_.string() + " is not the private one just made");
}

Staging::~Staging() {
  if (name_.empty()) return;
  fd_.reset();
  try {
    remove_at(parent_fd_.get(), name_);
  } catch (const Error& e) {
    spdlog::warn("rootfs cache: removing {}: {}", path_.string(), e.what());
  }
}

void Staging::remove_leftovers(const CacheDir& cache, const StagingOptions& options) {
  std::string prefix = prefix_of(cache);
  auto sweep = [&](int dir_fd, const std::filesystem::path& dir) {
    for (const auto& name : names_in(dir_fd)) {
      if (!name.starts_with(prefix)) continue;
      struct stat st {};
      if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          st.st_uid != ::geteuid())
        continue;
      spdlog::debug("rootfs cache: removing leftover {}", (dir / name).string());
      remove_at(dir_fd, name);
    }
  };
  sweep(cache.fd(), cache.path());
  if (options.memory_dir.empty()) return;
  UniqueFd memory(
      ::open(options.memory_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (memory) sweep(memory.get(), options.memory_dir);
}

}  // namespace kvrun::rootfs
