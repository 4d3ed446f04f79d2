#include "vmm/jail/ids.h"

#include <fcntl.h>
#include <grp.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "common/error.h"

namespace kvrun::vmm::jail {
namespace {

// mkdir -p with mode 0700, then insist on a root-owned real directory: a lock file that
// someone else could create or hold would let them deny or share ids.
void ensure_private_dir(const std::filesystem::path& dir) {
  std::filesystem::path partial;
  for (const auto& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST)
      throw_errno("mkdir " + partial.string());
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) throw_errno("id lock directory " + dir.string());
  if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022) != 0)
    throw Error("id lock directory " + dir.string() +
                " must be a directory owned by root and writable by no one else");
}

uint32_t random_offset() {
  uint32_t value = 0;
  if (::getrandom(&value, sizeof value, GRND_NONBLOCK) != sizeof value) value = ::getpid();
  return value;
}

}  // namespace

IdLease lease_ids(std::optional<gid_t> gid, const std::filesystem::path& lock_dir) {
  ensure_private_dir(lock_dir);
  const uint32_t start = random_offset() % kIdRangeSize;
  for (uid_t i = 0; i < kIdRangeSize; ++i) {
    const uid_t id = kIdRangeFirst + (start + i) % kIdRangeSize;
    const std::filesystem::path path = lock_dir / std::to_string(id);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) throw_errno("id lock " + path.string());
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0)
      return IdLease(std::move(fd), id, gid.value_or(id));
    if (errno != EWOULDBLOCK) throw_errno("flock " + path.string());
  }
  throw Error("no free jail id: all " + std::to_string(kIdRangeSize) + " ids from " +
              std::to_string(kIdRangeFirst) + " are held by running VMs");
}

void switch_ids(uid_t uid, gid_t gid) {
  if (::setgroups(0, nullptr) != 0) throw_errno("setgroups");
  if (::setresgid(gid, gid, gid) != 0) throw_errno("setresgid " + std::to_string(gid));
  if (::setresuid(uid, uid, uid) != 0) throw_errno("setresuid " + std::to_string(uid));
}

}  // namespace kvrun::vmm::jail
