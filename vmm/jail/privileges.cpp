#include "vmm/jail/privileges.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <string>

#include "common/error.h"

namespace kvrun::vmm::jail {
namespace {

// glibc has no capset wrapper; libcap would be a dependency for two system calls.
int capset_raw(cap_user_header_t header, cap_user_data_t data) {
  return static_cast<int>(::syscall(SYS_capset, header, data));
}
int capget_raw(cap_user_header_t header, cap_user_data_t data) {
  return static_cast<int>(::syscall(SYS_capget, header, data));
}

void set_limit(int resource, uint64_t value, const char* name) {
  const rlimit limit{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  if (::setrlimit(resource, &limit) != 0) throw_errno(std::string("setrlimit ") + name);
}

}  // namespace

void drop_capability_bounds() {
  // Up to the kernel's last capability: PR_CAPBSET_DROP answers EINVAL past it, which is
  // how a kernel newer than our headers is covered too.
  for (int cap = 0;; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0) continue;
    if (errno == EINVAL && cap > 0) break;
    throw_errno("PR_CAPBSET_DROP " + std::to_string(cap));
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
    throw_errno("PR_CAP_AMBIENT_CLEAR_ALL");
}

void drop_remaining_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3] = {};
  if (capset_raw(&header, none) != 0) throw_errno("capset");
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) throw_errno("PR_SET_NO_NEW_PRIVS");
  // Not ptrace-able or core-dumped by the uid it runs as, and its /proc files stay root's.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_errno("PR_SET_DUMPABLE");

  __user_cap_data_struct now[_LINUX_CAPABILITY_U32S_3] = {};
  if (capget_raw(&header, now) != 0) throw_errno("capget");
  for (const auto& word : now) {
    if (word.effective != 0 || word.permitted != 0 || word.inheritable != 0)
      throw Error("capabilities left after the uid change");
  }
  if (::prctl(PR_CAPBSET_READ, CAP_SYS_ADMIN, 0, 0, 0) != 0)
    throw Error("CAP_SYS_ADMIN is still in the bounding set");
  if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) throw Error("no_new_privs did not stick");
}

void set_limits(const Limits& limits) {
  set_limit(RLIMIT_NOFILE, limits.open_files, "RLIMIT_NOFILE");
  set_limit(RLIMIT_NPROC, limits.threads, "RLIMIT_NPROC");
  set_limit(RLIMIT_FSIZE, limits.file_size, "RLIMIT_FSIZE");
  std::signal(SIGXFSZ, SIG_IGN);
}

}  // namespace kvrun::vmm::jail
