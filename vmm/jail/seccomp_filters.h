// kvrun-vmm's seccomp allowlists, one per kind of thread (docs/jail.md). Each thread installs
// its own filter before it runs its loop; the main thread installs its filter only after it has
// started every other thread, since a thread inherits the filter of the thread that creates it.
// A system call outside the list kills the whole VMM (SIGSYS): a compromised VMM gets no
// error codes to probe with.
#pragma once

#include <sys/types.h>

#include <string_view>

namespace kvrun::vmm::jail {

enum class ThreadKind {
  kVcpu,     // KVM_RUN and the port/MMIO exits it hands over, serial output
  kDevice,   // the device event loop: queues, disks, tap, vsock sockets
  kControl,  // the main thread (signals, timeout, console input, teardown) and the control
             // socket's thread (ATTACH-DISK / DETACH-DISK)
};

std::string_view to_string(ThreadKind kind);

struct FilterOptions {
  // The VMM's own pid (for tgkill) and a descriptor it must never close: the lock that keeps
  // its uid its own (ids.h). -1: none.
  pid_t pid = 0;
  int protected_fd = -1;
};

// Builds the allowlist for `kind` and loads it on the calling thread only (no TSYNC). Throws
// kvrun::Error if libseccomp or the kernel refuses.
void install_thread_filter(ThreadKind kind, const FilterOptions& options);

}  // namespace kvrun::vmm::jail
