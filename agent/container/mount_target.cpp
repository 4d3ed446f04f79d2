#include "agent/container/mount_target.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "agent/container/mounts.h"
#include "common/error.h"

namespace kvrun::agent {
namespace {

std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// "." and ".." applied as text, never above the root; symlinks are left for the walk to refuse.
std::vector<std::string> lexical_components(const std::string& path) {
  std::vector<std::string> parts;
  for (auto& part : components(path)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

const char* type_name(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return "directory";
    case S_IFREG:
      return "regular file";
    case S_IFIFO:
      return "FIFO";
    case S_IFSOCK:
      return "socket";
    case S_IFCHR:
      return "character device";
    case S_IFBLK:
      return "block device";
    case S_IFLNK:
      return "symlink";
    default:
      return "file of unknown type";
  }
}

// One component below dir. O_PATH opens nothing (a FIFO cannot block, no device driver runs);
// O_NOFOLLOW yields a symlink itself, which the caller refuses.
UniqueFd open_component(int dir, const std::string& name) {
  return UniqueFd(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
}

// A missing component: a directory, or (the last one of a file bind) an empty regular file.
// O_EXCL: an existing name, whatever it is, is never opened; a lost race is EEXIST and the
// caller's fresh open checks what won it.
void create_component(int dir, const std::string& name, bool regular_file,
                      const std::string& what) {
  if (regular_file) {
    UniqueFd file(
        ::openat(dir, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!file && errno != EEXIST) throw_errno(what + ": create");
    return;
  }
  if (::mkdirat(dir, name.c_str(), 0755) != 0 && errno != EEXIST) throw_errno(what + ": mkdir");
}

}  // namespace

MountTarget MountTarget::open(const std::string& root, const std::string& destination, Type type,
                              Symlinks symlinks, Missing missing) {
  const std::string context = "mount target " + destination;
  // resolve_in_root reads the image's symlinks as text and never leaves root; the walk below
  // then follows no symlink at all, so whatever changes in between cannot lead outside.
  std::vector<std::string> parts =
      symlinks == Symlinks::kResolveInRoot
          ? components(resolve_in_root(root, destination).substr(root.size()))
          : lexical_components(destination);

  UniqueFd current(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!current) throw_errno(context + ": open the rootfs " + root);
  std::string walked;  // in the container's terms, for messages
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    walked += "/" + parts[i];
    UniqueFd next = open_component(current.get(), parts[i]);
    if (!next && errno == ENOENT && missing == Missing::kCreate) {
      create_component(current.get(), parts[i], last && type == Type::kFile,
                       context + " (" + walked + ")");
      next = open_component(current.get(), parts[i]);
    }
    if (!next) throw_errno(context + ": open " + walked);
    struct stat st;
    if (::fstat(next.get(), &st) != 0) throw_errno(context + ": stat " + walked);
    if (S_ISLNK(st.st_mode)) {
      throw Error(context + ": " + walked + " is a symlink" +
                  (symlinks == Symlinks::kRefuse
                       ? " (this filesystem is mounted only on a real directory)"
                       : " (it changed while being resolved)"));
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      throw Error(context + ": " + walked + " is a " + type_name(st.st_mode) +
                  " in the image, not a directory");
    }
    current = std::move(next);
  }

  struct stat st;
  if (::fstat(current.get(), &st) != 0) throw_errno(context + ": stat");
  if (type == Type::kDirectory && !S_ISDIR(st.st_mode)) {
    throw Error(context + ": the image has a " + type_name(st.st_mode) +
                " there, and this mount needs a directory");
  }
  // A file bind covers any other non-directory (FIFO, device, socket) as runc's does: the mount
  // hides it and it is never opened. Over a directory the kernel would refuse anyway.
  if (type == Type::kFile && S_ISDIR(st.st_mode)) {
    throw Error(context + ": the image has a directory there, and a file cannot be bound over it");
  }
  return MountTarget(std::move(current), destination);
}

void MountTarget::mount(const char* source, const char* fs_type, unsigned long flags,
                        const std::string& data) const {
  std::string path = proc_path();
  if (::mount(source, path.c_str(), fs_type, flags, data.empty() ? nullptr : data.c_str()) != 0) {
    throw_errno("mount " + std::string(fs_type ? fs_type : "bind") + " " +
                std::string(source ? source : "none") + " on " + destination_);
  }
}

UniqueFd MountTarget::open_directory() const {
  UniqueFd dir(::openat(fd_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw_errno("open " + destination_);
  return dir;
}

void MountTarget::set_attributes_recursively(std::uint64_t set, std::uint64_t clear) const {
  mount_attr attr{};
  attr.attr_set = set;
  attr.attr_clr = clear;
  if (::mount_setattr(fd_.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    throw_errno("mount_setattr on " + destination_ + " and the mounts below it");
  }
}

std::string MountTarget::proc_path() const { return "/proc/self/fd/" + std::to_string(fd_.get()); }

}  // namespace kvrun::agent
