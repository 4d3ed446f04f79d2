// linux.devices: the nodes the spec lists, made in the container's /dev during the mount stage,
// before /dev is sealed nodev. Each char or block node is made with mknod (by the container's
// init, so the cgroup's device filter sees the mknod) and bound onto itself without nodev, so it
// opens whatever /dev's own flags; inside a user namespace, where mknod is refused, it is bound
// from the agent's /dev instead, as runc does, and must name the same device there. Opening a
// node still needs an allow rule in linux.resources.devices: none is added for it, as in runc.
//
// In a VM the numbers name the guest kernel's devices (/dev/fuse 10:229 works when the guest
// has FUSE); a host device such as a GPU does not exist there.
#pragma once

#include <string>
#include <vector>

#include "spec/spec.h"

namespace kvrun::agent {

// rootfs: the container's root (host path); dev: its /dev as resolve_in_root found it.
// Throws Error naming the node's path and the failing step.
void make_device_nodes(const std::string& rootfs, const std::string& dev,
                       const std::vector<spec::DeviceNodeSpec>& nodes, bool user_namespace);

// Whether nodes lists path ("/dev/null"): the spec's node replaces the agent's default one.
bool lists_device(const std::vector<spec::DeviceNodeSpec>& nodes, const std::string& path);

}  // namespace kvrun::agent
