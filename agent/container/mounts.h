// Mounts stage, run by the container's init in its new mount namespace:
//   1. make "/" rslave (or the spec's rootfsPropagation) so nothing leaks back to the agent,
//   2. bind the rootfs onto itself (pivot_root needs a mount point),
//   3. the spec's mounts, in order, with destinations resolved inside the rootfs,
//   4. a minimal /dev (tmpfs unless the spec mounts one; null zero full random urandom tty bound
//      from the agent's /dev; the usual symlinks), then remounted nodev: a node made there by
//      mknod never opens (the cgroup's device filter refuses it as well); the nodes of
//      linux.devices are made before, each a mount of its own (device_nodes.h),
//   5. pivot_root and detach the old root,
//   6. masked paths, readonly paths, readonly root.
#pragma once

#include <string>

#include "spec/spec.h"

namespace kvrun::agent {

// Steps 1-5. rootfs is an absolute host path.
void enter_root_filesystem(const spec::ContainerSpec& spec, const std::string& rootfs);
// Step 6, after sysctls have been written through the still-writable /proc.
void restrict_root_filesystem(const spec::ContainerSpec& spec);

// Resolves path as if root were "/": symlinks (absolute or relative) and ".." never leave root.
// Missing trailing components are appended unresolved. Returns a path under root.
std::string resolve_in_root(const std::string& root, const std::string& path);

}  // namespace kvrun::agent
