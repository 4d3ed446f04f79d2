#include "shim/network/netns_thread.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sched.h>
#include <sys/vfs.h>

#include <cerrno>
#include <exception>
#include <thread>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::network {

void run_in_netns(const std::filesystem::path& netns, const std::function<void()>& fn) {
  UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) throw_errno("network namespace " + netns.string());
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        const int err = errno;
        // setns says EINVAL for a file that is not a network namespace.
        if (err == EINVAL)
          throw Error("network namespace " + netns.string() + ": not a network namespace");
        throw_errno("network namespace " + netns.string() + ": setns", err);
      }
      fn();
    } catch (...) {
      failure = std::current_exception();
    }
  });
  worker.join();
  if (failure) std::rethrow_exception(failure);
}

bool netns_gone(const std::filesystem::path& netns) {
  struct statfs fs {};
  if (::statfs(netns.c_str(), &fs) != 0) return errno == ENOENT || errno == ENOTDIR;
  return fs.f_type != NSFS_MAGIC;
}

}  // namespace kvrun::network
