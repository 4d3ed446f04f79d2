// The CreateContainer request for a bundle, by sandbox kind. A host sandbox's agent reads the
// bundle where it is; a VM's agent gets the config inline and the rootfs from the read-only
// disk; host paths (bind mount sources) do not exist in the guest, so they are copied,
// substituted or refused with the mount named (guest_mounts.h), never dropped, and the config
// is the one constrain_for_guest makes (guest_spec.h).
#pragma once

#include <string>

#include "protocol/messages.h"
#include "shim/oci/bundle.h"
#include "shim/sandbox/guest_spec.h"
#include "shim/sandbox/launcher.h"

namespace kvrun::sandbox {

// Throws Error("config.json: mounts[N] (<destination>): ...") for a mount the sandbox cannot
// provide.
void check_mounts(const oci::Bundle& bundle, SandboxKind kind);

// `guest` is what the VM's side of the host set up (unused for a host sandbox).
protocol::CreateContainer container_request(const std::string& id, const oci::Bundle& bundle,
                                            SandboxKind kind, const GuestSpecContext& guest = {});

}  // namespace kvrun::sandbox
