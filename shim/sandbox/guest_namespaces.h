// Namespaces a spec joins by path, checked for a VM sandbox before it boots. A path names a
// namespace of the host; the guest kernel has its own and cannot enter the host's. A VM joins
// the host's network namespace by being wired into it (docs/networking.md), and a pod member's
// network, IPC and UTS paths name the pod sandbox's, which the guest holds (CreateSandbox).
// Any other path would be opened inside the guest, where it names an unrelated process.
#pragma once

#include "shim/oci/bundle.h"
#include "shim/sandbox/launcher.h"

namespace kvrun::sandbox {

// Throws Error("config.json: linux.namespaces[N].path: ...") naming the namespace and why.
void check_namespaces(const oci::Bundle& bundle, SandboxKind kind, bool pod_member);

}  // namespace kvrun::sandbox
