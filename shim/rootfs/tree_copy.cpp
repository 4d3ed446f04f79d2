#include "shim/rootfs/tree_copy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"
#include "shim/rootfs/tree_key.h"
#include "shim/rootfs/tree_walk.h"

namespace kvrun::rootfs {
namespace {

std::string shown(std::string_view path) { return path.empty() ? "/" : std::string(path); }

void write_all(int fd, std::span<const char> chunk, std::string_view path) {
  while (!chunk.empty()) {
    ssize_t n = ::write(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write copy of " + shown(path));
    chunk = chunk.subspan(static_cast<std::size_t>(n));
  }
}

// Where the copy of one entry is: an open fd (directories, regular files), or a name in an
// open directory for inodes we do not open (symlinks, nodes). Never followed either way: the
// copy is ours, but a symlink in it must not redirect a chown or chmod.
struct Target {
  int fd = -1;
  int dir_fd = -1;
  std::string name;
};

// Owner first (chown clears setuid bits and file capabilities), then xattrs, then the mode,
// then the mtime (everything before it would change it).
void apply_metadata(const Target& target, const TreeEntry& entry) {
  const struct stat& st = entry.st;
  std::string what = " copy of " + shown(entry.path);
  std::string by_name = target.fd >= 0
                            ? std::string()
                            : "/proc/self/fd/" + std::to_string(target.dir_fd) + "/" + target.name;
  int rc = target.fd >= 0 ? ::fchown(target.fd, st.st_uid, st.st_gid)
                          : ::fchownat(target.dir_fd, target.name.c_str(), st.st_uid, st.st_gid,
                                       AT_SYMLINK_NOFOLLOW);
  if (rc != 0) throw_errno("chown" + what);
  for (const auto& [name, value] : entry.xattrs) {
    rc = target.fd >= 0 ? ::fsetxattr(target.fd, name.c_str(), value.data(), value.size(), 0)
                        : ::lsetxattr(by_name.c_str(), name.c_str(), value.data(), value.size(), 0);
    if (rc != 0) throw_errno("setxattr " + name + what);
  }
  if (!S_ISLNK(st.st_mode)) {  // a symlink's mode is always 0777
    rc = target.fd >= 0 ? ::fchmod(target.fd, st.st_mode & 07777)
                        : ::fchmodat(target.dir_fd, target.name.c_str(), st.st_mode & 07777, 0);
    if (rc != 0) throw_errno("chmod" + what);
  }
  const timespec times[2] = {{0, UTIME_OMIT}, st.st_mtim};
  rc = target.fd >= 0 ? ::futimens(target.fd, times)
                      : ::utimensat(target.dir_fd, target.name.c_str(), times, AT_SYMLINK_NOFOLLOW);
  if (rc != 0) throw_errno("set mtime" + what);
}

class Copier : public TreeVisitor {
 public:
  explicit Copier(int dest_fd) : dest_fd_(dest_fd) {}

  void enter_directory(const TreeEntry& entry) override {
    if (dirs_.empty()) {  // the root: the caller's directory
      int fd = ::fcntl(dest_fd_, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) throw_errno("dup");
      dirs_.emplace_back(fd);
      return;
    }
    std::string name(entry.name);
    if (::mkdirat(top(), name.c_str(), 0700) != 0)
      throw_errno("mkdir copy of " + shown(entry.path));
    UniqueFd fd(::openat(top(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_errno("open copy of " + shown(entry.path));
    dirs_.push_back(std::move(fd));
  }

  // The directory's own metadata last: creating its children changes its mtime, and a
  // read-only mode would stop them being created.
  void leave_directory(const TreeEntry& entry) override {
    apply_metadata(Target{dirs_.back().get(), -1, {}}, entry);
    dirs_.pop_back();
  }

  void begin_file(const TreeEntry& entry) override {
    file_.reset(::openat(top(), std::string(entry.name).c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file_) throw_errno("create copy of " + shown(entry.path));
    path_ = entry.path;
  }

  void file_data(std::span<const char> chunk) override { write_all(file_.get(), chunk, path_); }

  void end_file(const TreeEntry& entry, std::uint64_t) override {
    apply_metadata(Target{file_.get(), -1, {}}, entry);
    file_.reset();
  }

  void special(const TreeEntry& entry) override {
    std::string name(entry.name);
    int rc =
        S_ISLNK(entry.st.st_mode)
            ? ::symlinkat(std::string(entry.link_target).c_str(), top(), name.c_str())
            : ::mknodat(top(), name.c_str(), (entry.st.st_mode & S_IFMT) | 0600, entry.st.st_rdev);
    if (rc != 0) throw_errno("create copy of " + shown(entry.path));
    apply_metadata(Target{-1, top(), name}, entry);
  }

  void hard_link(std::string_view name, std::string_view path,
                 std::string_view first_path) override {
    std::string first(first_path.substr(1));  // relative to the copy's root
    if (::linkat(dirs_.front().get(), first.c_str(), top(), std::string(name).c_str(), 0) != 0)
      throw_errno("link copy of " + shown(path));
  }

 private:
  int top() const { return dirs_.back().get(); }

  int dest_fd_;
  std::vector<UniqueFd> dirs_;
  UniqueFd file_;
  std::string path_;
};

// Both visitors see the same call with the same bytes: the key is of what was written.
class Tee : public TreeVisitor {
 public:
  Tee(TreeVisitor& a, TreeVisitor& b) : a_(a), b_(b) {}
  void enter_directory(const TreeEntry& e) override {
    a_.enter_directory(e);
    b_.enter_directory(e);
  }
  void leave_directory(const TreeEntry& e) override {
    a_.leave_directory(e);
    b_.leave_directory(e);
  }
  void begin_file(const TreeEntry& e) override {
    a_.begin_file(e);
    b_.begin_file(e);
  }
  void file_data(std::span<const char> chunk) override {
    a_.file_data(chunk);
    b_.file_data(chunk);
  }
  void end_file(const TreeEntry& e, std::uint64_t bytes) override {
    a_.end_file(e, bytes);
    b_.end_file(e, bytes);
  }
  void special(const TreeEntry& e) override {
    a_.special(e);
    b_.special(e);
  }
  void hard_link(std::string_view name, std::string_view path,
                 std::string_view first_path) override {
    a_.hard_link(name, path, first_path);
    b_.hard_link(name, path, first_path);
  }

 private:
  TreeVisitor& a_;
  TreeVisitor& b_;
};

}  // namespace

std::string copy_tree(const std::filesystem::path& root, int dest_fd, std::string_view salt) {
  TreeHasher hasher(salt);
  Copier copier(dest_fd);
  Tee both(copier, hasher);
  walk_tree(root, both);
  return hasher.key();
}

}  // namespace kvrun::rootfs
