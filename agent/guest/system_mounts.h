// PID-1 duty: the filesystems a guest needs before the agent can make containers. Each mount is
// skipped when something is already mounted there (the kernel's devtmpfs automount, or a test
// /init that mounted before exec'ing the agent).
//
//   /dev (devtmpfs), /dev/pts (devpts), /dev/shm (tmpfs), /proc, /sys,
//   /sys/fs/cgroup (cgroup2, every controller enabled for children), /run and /tmp (tmpfs)
#pragma once

namespace kvrun::agent {

// First re-roots the agent in a bind mount of the initramfs (pivot_root cannot leave the initial
// rootfs). Throws Error naming the mount that failed.
void mount_guest_filesystems();

// The kernel opens /dev/console for init only if the initramfs has the node; ours is packed
// without root and has none. Once devtmpfs is up, points fds 0-2 at the console if closed.
void ensure_console();

}  // namespace kvrun::agent
