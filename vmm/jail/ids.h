// The uid and gid a jailed kvrun-vmm runs as (docs/jail.md). By default each VM gets one of
// its own from a range kvrun owns: uid = gid = kIdRangeFirst + n, n < kIdRangeSize. A VM holds
// an exclusive flock on <lock dir>/<uid> for as long as it lives, so two live VMs never share
// an id: the kernel drops the lock however the VMM ends (even SIGKILL), and nothing the VMM
// owned outlives it (it creates no files once jailed). The jailed VMM keeps the lock's
// descriptor open; its seccomp filters forbid closing that descriptor.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>

#include "common/unique_fd.h"

namespace kvrun::vmm::jail {

// Past systemd's ranges (system, regular, dynamic users, nspawn containers: all below
// 1879048192) and below the 2^31 that some tools treat as negative.
inline constexpr uid_t kIdRangeFirst = 2'000'000'000;
inline constexpr uid_t kIdRangeSize = 65536;
inline constexpr const char* kIdLockDir = "/run/kvrun-vmm/ids";

class IdLease {
 public:
  // A fixed pair chosen by the caller: no lock, no check against other VMs.
  IdLease(uid_t uid, gid_t gid) : uid_(uid), gid_(gid) {}
  IdLease(UniqueFd lock, uid_t uid, gid_t gid) : lock_(std::move(lock)), uid_(uid), gid_(gid) {}

  uid_t uid() const { return uid_; }
  gid_t gid() const { return gid_; }
  int lock_fd() const { return lock_.get(); }  // -1 for a fixed pair
  // Leaves the lock to the kernel to release when the process exits (a jailed VMM may not
  // close it).
  void keep_until_exit() { (void)lock_.release(); }

 private:
  UniqueFd lock_;
  uid_t uid_;
  gid_t gid_;
};

// Takes the first free id from kIdRangeFirst.., starting at a random offset so that VMs
// starting together rarely contend for the same lock. `lock_dir` is created (0700) if missing
// and must be a directory owned by root. The gid is the same number unless `gid` is given.
// Throws kvrun::Error if every id is taken.
IdLease lease_ids(std::optional<gid_t> gid = std::nullopt,
                  const std::filesystem::path& lock_dir = kIdLockDir);

// setgroups(none), setresgid, setresuid: real, effective and saved ids all change, so no way
// back. Throws kvrun::Error naming the call that failed.
void switch_ids(uid_t uid, gid_t gid);

}  // namespace kvrun::vmm::jail
