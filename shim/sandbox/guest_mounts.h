// Bind mounts of host paths, for a VM, whose guest cannot see the host's filesystem (no shared
// filesystem device yet). Each one is provided another way or refused naming the mount, never
// dropped:
//   - a small regular text file (engines bind /etc/hosts, /etc/hostname, /etc/resolv.conf,
//     /run/.containerenv) is copied: its content travels in CreateContainer and the agent binds
//     its own copy. A snapshot: later host-side edits do not reach the container.
//   - /dev/shm (engines bind a tmpfs they made for the container's IPC) becomes a tmpfs of the
//     guest with the same size and flags (constrain_for_guest, guest_spec.h).
//   - anything else (directories, devices, large or binary files) is refused.
#pragma once

#include <cstddef>
#include <vector>

#include "protocol/messages.h"
#include "shim/oci/bundle.h"

namespace kvrun::sandbox {

inline constexpr std::size_t kMaxCopiedFile = 256 * 1024;
inline constexpr std::size_t kMaxCopiedTotal = 1024 * 1024;

// The copied files, by mount index. Throws Error("config.json: mounts[N] (<destination>): <why>")
// for a bind it cannot provide.
std::vector<protocol::FileCopy> guest_files(const oci::Bundle& bundle);

}  // namespace kvrun::sandbox
