#include "shim/rootfs/tree_walk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::rootfs {
namespace {

// Fixed, so that a file of any size is streamed, never read whole into memory.
constexpr std::size_t kChunk = 1 << 20;
constexpr std::size_t kMaxLinkTarget = 1 << 16;

std::string shown(std::string_view path) { return path.empty() ? "/" : std::string(path); }

std::string fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// The xattrs of `target`: an fd (regular files and directories, opened for reading) or, for
// inodes that cannot be opened safely, a path whose last component is not followed.
class XattrSource {
 public:
  static XattrSource of_fd(int fd) { return XattrSource(fd, {}); }
  static XattrSource of_path(std::string path) { return XattrSource(-1, std::move(path)); }

  ssize_t list(char* buffer, std::size_t size) const {
    return fd_ >= 0 ? ::flistxattr(fd_, buffer, size) : ::llistxattr(path_.c_str(), buffer, size);
  }
  ssize_t get(const char* name, void* buffer, std::size_t size) const {
    return fd_ >= 0 ? ::fgetxattr(fd_, name, buffer, size)
                    : ::lgetxattr(path_.c_str(), name, buffer, size);
  }

 private:
  XattrSource(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

bool no_xattr_support(int err) { return err == ENOTSUP || err == EOPNOTSUPP; }

// The namespaces mkfs.erofs stores (erofs's xattr prefix indexes); it skips any other, so
// they are neither keyed nor copied. As root the kernel lists trusted.* and every security.*
// (file capabilities, SELinux labels) too.
bool image_keeps(std::string_view name) {
  return name.starts_with("user.") || name.starts_with("trusted.") ||
         name.starts_with("security.") || name == "system.posix_acl_access" ||
         name == "system.posix_acl_default";
}

Xattrs read_xattrs(const XattrSource& source, std::string_view path) {
  for (int attempt = 0; attempt < 8; ++attempt) {  // the list may change between calls
    ssize_t size = source.list(nullptr, 0);
    if (size < 0 && no_xattr_support(errno)) return {};
    if (size < 0) throw_errno("listxattr " + shown(path));
    std::string names(static_cast<std::size_t>(size), '\0');
    size = source.list(names.data(), names.size());
    if (size < 0 && errno == ERANGE) continue;
    if (size < 0) throw_errno("listxattr " + shown(path));
    names.resize(static_cast<std::size_t>(size));
    Xattrs xattrs;
    bool changed = false;
    for (std::size_t at = 0; at < names.size() && !changed;) {
      std::string name(names.c_str() + at);
      at += name.size() + 1;
      if (!image_keeps(name)) continue;
      ssize_t length = source.get(name.c_str(), nullptr, 0);
      std::string value;
      if (length > 0) {
        value.resize(static_cast<std::size_t>(length));
        length = source.get(name.c_str(), value.data(), value.size());
      }
      if (length < 0 && (errno == ERANGE || errno == ENODATA)) {
        changed = true;
        break;
      }
      if (length < 0) throw_errno("getxattr " + name + " of " + shown(path));
      value.resize(static_cast<std::size_t>(length));
      xattrs.emplace_back(std::move(name), std::move(value));
    }
    if (changed) continue;
    std::sort(xattrs.begin(), xattrs.end());
    return xattrs;
  }
  throw Error("xattrs of " + shown(path) + " keep changing while read");
}

std::string read_link(int path_fd, std::string_view path) {
  std::string target(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(path_fd, "", target.data(), target.size());
    if (n < 0) throw_errno("readlink " + shown(path));
    if (static_cast<std::size_t>(n) < target.size()) {
      target.resize(static_cast<std::size_t>(n));
      return target;
    }
    if (target.size() >= kMaxLinkTarget) throw Error("symlink target too long: " + shown(path));
    target.resize(target.size() * 2);
  }
}

std::vector<std::string> sorted_names(int dir_fd, std::string_view path) {
  int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) throw_errno("dup");
  struct CloseDir {
    void operator()(DIR* d) const { ::closedir(d); }
  };
  std::unique_ptr<DIR, CloseDir> dir(::fdopendir(dup_fd));
  if (!dir) {
    int err = errno;
    ::close(dup_fd);
    throw_errno("opendir " + shown(path), err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir.get())) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
    errno = 0;
  }
  if (errno != 0) throw_errno("readdir " + shown(path));
  std::sort(names.begin(), names.end());
  return names;
}

class Walker {
 public:
  explicit Walker(TreeVisitor& visitor) : visitor_(visitor), buffer_(kChunk) {}

  void directory(UniqueFd path_fd, std::string_view name, const std::string& path) {
    UniqueFd dir(::openat(path_fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw_errno("open " + shown(path));
    path_fd.reset();
    struct stat st {};
    if (::fstat(dir.get(), &st) != 0) throw_errno("stat " + shown(path));
    Xattrs xattrs = read_xattrs(XattrSource::of_fd(dir.get()), path);
    TreeEntry entry{name, path, st, xattrs, {}};
    visitor_.enter_directory(entry);
    for (const auto& child : sorted_names(dir.get(), path)) this->child(dir.get(), child, path);
    visitor_.leave_directory(entry);
  }

 private:
  void child(int dir_fd, const std::string& name, const std::string& parent) {
    std::string path = parent + "/" + name;
    UniqueFd path_fd(::openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!path_fd) throw_errno("open " + path + " (did the rootfs change while read?)");
    struct stat st {};
    if (::fstat(path_fd.get(), &st) != 0) throw_errno("stat " + path);
    if (S_ISDIR(st.st_mode)) return directory(std::move(path_fd), name, path);
    if (st.st_nlink > 1) {
      auto [at, inserted] = first_paths_.try_emplace({st.st_dev, st.st_ino}, path);
      if (!inserted) return visitor_.hard_link(name, path, at->second);
    }
    if (S_ISREG(st.st_mode)) return file(path_fd.get(), name, path);
    std::string target;
    if (S_ISLNK(st.st_mode)) target = read_link(path_fd.get(), path);
    // Not opened: symlinks cannot be, and opening a device or FIFO has effects. The xattr
    // calls go by name in the directory already open, without following the last component.
    Xattrs xattrs = read_xattrs(XattrSource::of_path(fd_path(dir_fd) + "/" + name), path);
    visitor_.special(TreeEntry{name, path, st, xattrs, target});
  }

  void file(int path_fd, std::string_view name, const std::string& path) {
    // Reopening the O_PATH fd through /proc opens that very inode (known to be a regular
    // file), not whatever the name points to by now.
    UniqueFd fd(::open(fd_path(path_fd).c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw_errno("stat " + path);
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    Xattrs xattrs = read_xattrs(XattrSource::of_fd(fd.get()), path);
    TreeEntry entry{name, path, st, xattrs, {}};
    visitor_.begin_file(entry);
    std::uint64_t bytes = 0;
    for (;;) {
      ssize_t n = ::read(fd.get(), buffer_.data(), buffer_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno("read " + path);
      if (n == 0) break;
      visitor_.file_data({buffer_.data(), static_cast<std::size_t>(n)});
      bytes += static_cast<std::uint64_t>(n);
    }
    visitor_.end_file(entry, bytes);
  }

  TreeVisitor& visitor_;
  std::vector<char> buffer_;
  std::map<std::pair<dev_t, ino_t>, std::string> first_paths_;
};

}  // namespace

void walk_tree(const std::filesystem::path& root, TreeVisitor& visitor) {
  UniqueFd fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_errno("open rootfs " + root.string());
  Walker walker(visitor);
  walker.directory(std::move(fd), "", "");
}

}  // namespace kvrun::rootfs
