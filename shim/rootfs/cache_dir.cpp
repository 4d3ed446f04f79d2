#include "shim/rootfs/cache_dir.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <system_error>

#include "common/error.h"

namespace kvrun::rootfs {
namespace {

constexpr mode_t kDirMode = 0700;
constexpr mode_t kImageMode = 0600;

bool trusted_owner(uid_t uid) { return uid == 0 || uid == ::geteuid(); }

// Each directory above the cache: nobody but root or us may rename entries in it.
void check_ancestors(const std::filesystem::path& dir) {
  for (auto p = dir.parent_path();; p = p.parent_path()) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) throw_errno("rootfs cache: stat " + p.string());
    bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0;
    if (!trusted_owner(st.st_uid) || others_write) {
      std::string why = others_write ? " is writable by its group or others"
                                     : " is owned by uid " + std::to_string(st.st_uid);
      throw Error("rootfs cache " + dir.string() + ": refusing it, " + p.string() + why +
                  " (only root or kvrun's uid may change the directories above the cache)");
    }
    if (p == p.root_path() || p.empty()) break;
  }
}

// An older kvrun made the directory 0755 and its images 0644: readable by every local user.
void tighten_entries(int dir_fd, const std::filesystem::path& dir) {
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    struct stat st {};
    std::string name = entry.path().filename().string();
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 07777) == kImageMode) continue;
    if (::fchmodat(dir_fd, name.c_str(), kImageMode, 0) != 0)
      throw_errno("rootfs cache: chmod " + entry.path().string());
  }
}

}  // namespace

CacheDir::CacheDir(std::filesystem::path path) : path_(std::filesystem::absolute(std::move(path))) {
  std::error_code ec;
  std::filesystem::create_directories(path_.parent_path(), ec);
  if (ec) throw Error("rootfs cache " + path_.string() + ": " + ec.message());
  check_ancestors(path_);
  auto canonical = std::filesystem::weakly_canonical(path_.parent_path(), ec);
  if (!ec && canonical != path_.parent_path()) check_ancestors(canonical / path_.filename());
  if (::mkdir(path_.c_str(), kDirMode) != 0 && errno != EEXIST)
    throw_errno("rootfs cache: mkdir " + path_.string());
  fd_.reset(::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd_) {
    if (errno == ELOOP || errno == ENOTDIR)
      throw Error("rootfs cache " + path_.string() + ": refusing it, not a directory (symlink?)");
    throw_errno("rootfs cache: open " + path_.string());
  }
  struct stat st {};
  if (::fstat(fd_.get(), &st) != 0) throw_errno("rootfs cache: stat " + path_.string());
  if (st.st_uid != ::geteuid()) {
    throw Error("rootfs cache " + path_.string() + ": refusing it, owned by uid " +
                std::to_string(st.st_uid) + ", not by uid " + std::to_string(::geteuid()));
  }
  if ((st.st_mode & 07777) != kDirMode) {
    spdlog::info("rootfs cache {}: mode {:o} tightened to {:o}, images to {:o}", path_.string(),
                 st.st_mode & 07777, kDirMode, kImageMode);
    if (::fchmod(fd_.get(), kDirMode) != 0) throw_errno("rootfs cache: chmod " + path_.string());
    tighten_entries(fd_.get(), path_);
  }
}

}  // namespace kvrun::rootfs
