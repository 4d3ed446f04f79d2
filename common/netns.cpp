#include "common/netns.h"

#include <fcntl.h>
#include <sched.h>

#include <cerrno>
#include <exception>
#include <thread>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun {

void run_in_netns(const std::filesystem::path& netns, const std::function<void()>& fn) {
  UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) throw_errno("network namespace " + netns.string());

  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      if (::setns(ns.get(), CLONE_NEWNET) != 0) {
        // EINVAL is what setns says for a file that is not a network namespace.
        const int err = errno;
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

}  // namespace kvrun
