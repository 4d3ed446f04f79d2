// Capabilities, no_new_privs and resource limits for the jailed kvrun-vmm (docs/jail.md).
#pragma once

#include <cstdint>

namespace kvrun::vmm::jail {

// Empties the capability bounding set and the ambient set. Needs CAP_SETPCAP: before the uid
// changes. Throws kvrun::Error.
void drop_capability_bounds();

// After the uid changed (which clears the permitted and effective sets): clears the
// inheritable set too, sets no_new_privs, marks the process non-dumpable, and checks that
// every set reads back as empty. Throws kvrun::Error.
void drop_remaining_capabilities();

struct Limits {
  uint64_t open_files;  // RLIMIT_NOFILE
  uint64_t threads;     // RLIMIT_NPROC: counted per uid, and the uid is the VM's own
  uint64_t file_size;   // RLIMIT_FSIZE: the highest byte offset any write may reach
};

// Sets soft and hard limits alike, so they can only go down from here; SIGXFSZ is ignored so
// a write past file_size fails with EFBIG instead of killing the VMM. Before the uid changes
// (raising a hard limit needs CAP_SYS_RESOURCE). Throws kvrun::Error.
void set_limits(const Limits& limits);

}  // namespace kvrun::vmm::jail
