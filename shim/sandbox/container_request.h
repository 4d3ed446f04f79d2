// The CreateContainer request for a bundle, by sandbox kind. A host sandbox's agent reads the
// bundle where it is; a VM's agent gets the config inline and the rootfs from the read-only
// disk; host paths (bind mount sources) do not exist in the guest, so they are copied,
// substituted or refused with the mount named (guest_mounts.h), never dropped.
#pragma once

#include <string>

#include "protocol/messages.h"
#include "shim/oci/bundle.h"
#include "shim/sandbox/launcher.h"

namespace kvrun::sandbox {

// Throws Error("config.json: mounts[N] (<destination>): ...") for a mount the sandbox cannot
// provide.
void check_mounts(const oci::Bundle& bundle, SandboxKind kind);

protocol::CreateContainer container_request(const std::string& id, const oci::Bundle& bundle,
                                            SandboxKind kind);

}  // namespace kvrun::sandbox
