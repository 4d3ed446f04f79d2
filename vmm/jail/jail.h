// kvrun-vmm's jail, Firecracker's jailer folded into the VMM (docs/jail.md). Once the VM is
// set up, with every file, device and socket it will use open, enter_jail() takes away all
// the process could still reach: it runs as a uid/gid of its own, with no capabilities and
// no_new_privs, in its own mount/IPC/UTS namespaces under a root that holds only the vsock
// socket directory, with limits on descriptors, threads and file size. The seccomp filters
// (seccomp_filters.h) come last, per thread. kvrun starts kvrun-vmm as PID 1 of a PID
// namespace of its own (a namespace needs a fork, and kvrun already forks it).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "vmm/jail/ids.h"
#include "vmm/jail/seccomp_filters.h"

namespace kvrun::vmm::jail {

struct JailConfig {
  bool enabled = true;       // --no-jail: for debugging only
  std::optional<uid_t> uid;  // default: one of kvrun's range (ids.h), per VM
  std::optional<gid_t> gid;  // default: the uid's number
};

// What the VM still needs once jailed, gathered while it is set up.
struct JailNeeds {
  // Reached by path at run time: bind-mounted read-only into the jail at their own paths.
  std::vector<std::filesystem::path> dirs;
  uint64_t threads = 1;        // every thread the VMM will start, the main one included
  uint64_t open_files = 4096;  // vsock's 1024 streams, disks, slots' media, eventfds
  uint64_t largest_write = 0;  // the end of the largest writable disk
};

class Jail {
 public:
  Jail(Jail&&) = default;
  Jail& operator=(Jail&&) = default;
  // The process stays jailed; only the id lock is left open for the kernel to drop at exit.
  ~Jail() { ids_.keep_until_exit(); }

  uid_t uid() const { return ids_.uid(); }
  gid_t gid() const { return ids_.gid(); }
  // For the threads' filters: our pid and the id lock to keep open.
  FilterOptions filter_options() const { return FilterOptions{pid_, ids_.lock_fd()}; }

 private:
  friend Jail enter_jail(const JailConfig&, const JailNeeds&);
  Jail(IdLease ids, pid_t pid) : ids_(std::move(ids)), pid_(pid) {}
  IdLease ids_;
  pid_t pid_;
};

// Must run on the process's only thread, as root. Throws kvrun::Error naming the step.
Jail enter_jail(const JailConfig& config, const JailNeeds& needs);

// Room for the log on stdout/stderr past its current end, within the file size limit.
inline constexpr uint64_t kLogAllowance = 256ull << 20;

}  // namespace kvrun::vmm::jail
