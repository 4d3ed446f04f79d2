// The jailed kvrun-vmm's filesystem view (docs/jail.md): new mount, IPC and UTS namespaces,
// and a root that is a small read-only tmpfs holding nothing but the directories the VMM
// still has to reach by path once it runs (the vsock socket's: the guest connects to
// <uds>_<port> at any time), each bind-mounted read-only, nosuid, nodev, noexec at its own
// path. Everything else the VMM uses it has opened before: /dev/kvm, the VM, disks, taps,
// sockets, logs. The old root is detached, so no path leads back to the host.
#pragma once

#include <filesystem>
#include <vector>

namespace kvrun::vmm::jail {

// Where the new root is mounted (in the VMM's own mount namespace only; on the host it stays
// an empty directory).
inline constexpr const char* kJailMountPoint = "/run/kvrun-vmm/root";

// Needs CAP_SYS_ADMIN and a single thread. `dirs` must be absolute. Afterwards the working
// directory is the first of `dirs` that held the old one, or "/". Throws kvrun::Error naming
// the step.
void enter_mount_jail(const std::vector<std::filesystem::path>& dirs);

}  // namespace kvrun::vmm::jail
