#include "shim/network/netns_thread.h"

#include <linux/magic.h>
#include <sys/vfs.h>

#include <cerrno>

namespace kvrun::network {

bool netns_gone(const std::filesystem::path& netns) {
  struct statfs fs {};
  if (::statfs(netns.c_str(), &fs) != 0) return errno == ENOENT || errno == ENOTDIR;
  return fs.f_type != NSFS_MAGIC;
}

}  // namespace kvrun::network
