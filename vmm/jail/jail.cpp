#include "vmm/jail/jail.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <string>

#include "common/error.h"
#include "vmm/jail/mount_jail.h"
#include "vmm/jail/privileges.h"

namespace kvrun::vmm::jail {
namespace {

// The end of the log kvrun appends stdout/stderr to, when they are a regular file: the file
// size limit counts byte offsets, so an existing log's length must fit under it.
uint64_t log_end() {
  uint64_t end = 0;
  for (int fd : {STDOUT_FILENO, STDERR_FILENO}) {
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
      end = std::max(end, static_cast<uint64_t>(st.st_size));
  }
  return end;
}

}  // namespace

Jail enter_jail(const JailConfig& config, const JailNeeds& needs) {
  if (::geteuid() != 0)
    throw Error(
        "jail: kvrun-vmm jails itself and must start as root (--no-jail runs it "
        "unjailed, for debugging only)");
  IdLease ids =
      config.uid ? IdLease(*config.uid, config.gid.value_or(*config.uid)) : lease_ids(config.gid);
  if (ids.uid() == 0 || ids.gid() == 0) throw Error("jail: uid and gid must not be 0");

  // glibc reads the time zone on first use, from a file the jail does not have; log lines
  // need it.
  ::tzset();
  const uint64_t file_size = std::max(needs.largest_write, log_end() + kLogAllowance);

  // Namespaces and mounts and raised limits need root's capabilities; the bounding set goes
  // while CAP_SETPCAP is still there; the uid changes last, which empties what is left.
  enter_mount_jail(needs.dirs);
  set_limits(Limits{needs.open_files, needs.threads, file_size});
  drop_capability_bounds();
  switch_ids(ids.uid(), ids.gid());
  drop_remaining_capabilities();
  // The uid change cleared the parent-death signal kvrun set: a VMM must not outlive its
  // monitor.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) throw_errno("jail: PR_SET_PDEATHSIG");
  return Jail(std::move(ids), ::getpid());
}

}  // namespace kvrun::vmm::jail
