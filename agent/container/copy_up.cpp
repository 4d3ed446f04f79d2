#include "agent/container/copy_up.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent {
namespace {

// Deeper trees than this in a directory a tmpfs covers are an image built to exhaust the stack.
constexpr int kMaxDepth = 128;

void copy_owner_and_mode(int to, const std::string& name, const struct stat& st,
                         const std::string& path) {
  if (::fchownat(to, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0)
    throw_errno("tmpcopyup: chown " + path);
  if (S_ISLNK(st.st_mode)) return;  // a symlink's mode means nothing
  if (::fchmodat(to, name.c_str(), st.st_mode & 07777, 0) != 0)
    throw_errno("tmpcopyup: chmod " + path);
}

void copy_file(int from, int to, const std::string& name, const struct stat& st,
               const std::string& path) {
  UniqueFd in(::openat(from, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!in) throw_errno("tmpcopyup: open " + path);
  UniqueFd out(
      ::openat(to, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) throw_errno("tmpcopyup: create " + path);
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = ::sendfile(out.get(), in.get(), nullptr, static_cast<std::size_t>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("tmpcopyup: copy " + path);
    if (n == 0) break;  // the file shrank under us: what is there is copied
    left -= n;
  }
}

void copy_entries(int from, int to, const std::string& path, int depth) {
  if (depth > kMaxDepth) throw Error("tmpcopyup: " + path + ": deeper than " +
                                     std::to_string(kMaxDepth) + " directories");
  int listing = ::fcntl(from, F_DUPFD_CLOEXEC, 0);
  if (listing < 0) throw_errno("tmpcopyup: dup " + path);
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::fdopendir(listing), ::closedir);
  if (!dir) {
    ::close(listing);
    throw_errno("tmpcopyup: list " + path);
  }
  while (dirent* entry = ::readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string entry_path = path + "/" + name;
    struct stat st {};
    if (::fstatat(from, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      throw_errno("tmpcopyup: stat " + entry_path);
    if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(to, name.c_str(), 0700) != 0) throw_errno("tmpcopyup: mkdir " + entry_path);
      UniqueFd sub_from(::openat(from, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      UniqueFd sub_to(::openat(to, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub_from || !sub_to) throw_errno("tmpcopyup: open directory " + entry_path);
      copy_entries(sub_from.get(), sub_to.get(), entry_path, depth + 1);
    } else if (S_ISREG(st.st_mode)) {
      copy_file(from, to, name, st, entry_path);
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(PATH_MAX), '\0');
      ssize_t n = ::readlinkat(from, name.c_str(), target.data(), target.size());
      if (n < 0) throw_errno("tmpcopyup: readlink " + entry_path);
      if (static_cast<std::size_t>(n) == target.size())
        throw Error("tmpcopyup: " + entry_path + ": symlink target too long");
      target.resize(static_cast<std::size_t>(n));
      if (::symlinkat(target.c_str(), to, name.c_str()) != 0)
        throw_errno("tmpcopyup: symlink " + entry_path);
    } else if (S_ISFIFO(st.st_mode)) {
      if (::mkfifoat(to, name.c_str(), 0600) != 0) throw_errno("tmpcopyup: mkfifo " + entry_path);
    } else {
      continue;  // devices and sockets: a tmpfs copy of them serves no one
    }
    copy_owner_and_mode(to, name, st, entry_path);
  }
}

}  // namespace

void copy_tree(int from, int to) { copy_entries(from, to, "", 0); }

}  // namespace kvrun::agent
