// The config a VM's agent gets: the bundle's config.json with every change the host makes for
// the guest, in one ordered function (as Kata's constrainGRPCSpec). The guest runs its own
// kernel on its own disk, so some host things in a spec mean nothing there and are replaced by
// the guest's own. What cannot be replaced is refused before this runs (guest_mounts.h,
// guest_namespaces.h), never silently dropped; the agent parses the result as strictly as any
// config (spec/spec.h).
#pragma once

#include <nlohmann/json.hpp>

#include "shim/oci/bundle.h"

namespace kvrun::sandbox {

struct GuestSpecContext {
  // The spec's network namespace has no uplink to mirror (vm_network.h): the guest makes a new
  // namespace with loopback only.
  bool loopback_only_network = false;
};

// A bind of the host's /dev/shm (engines bind a tmpfs they made for the container's IPC): the
// guest gets a tmpfs of its own instead, private to the container either way.
bool is_shm_bind(const oci::Mount& mount);

// The rewrites, in order:
//   1. a bind of /dev/shm becomes a tmpfs of the guest with the bind's flags and size;
//   2. with loopback_only_network, the network namespace entry loses its host path.
// Pure apart from statvfs(2) of the /dev/shm source; throws nothing.
nlohmann::json constrain_for_guest(const oci::Bundle& bundle, const GuestSpecContext& context);

}  // namespace kvrun::sandbox
