// The two facts about a container that every shim layer shares: what kind of sandbox it runs
// in and where it stands in a pod. Here, below oci/, state/ and sandbox/, so state.json stores
// them as these enums; their names are the strings state.json has always held.
#pragma once

#include <string>

namespace kvrun::shim {

// vm: kvrun-vmm with our kernel; host: kvrun-agent on this host (sandbox/launcher.h).
enum class SandboxKind { kVm, kHost };
// Throws Error for names other than "vm" and "host".
SandboxKind parse_sandbox_kind(const std::string& name);
std::string to_string(SandboxKind kind);

// From the CRI annotations (oci/pod.h).
enum class PodRole {
  kStandalone,  // no pod annotations: a VM of its own
  kSandbox,     // the pod's sandbox container: boots the pod's VM
  kMember,      // a container of the pod: runs in the sandbox's VM
};
// "" (standalone), "sandbox", "member", as state.json spells them.
std::string to_string(PodRole role);
// Throws Error for any other name.
PodRole parse_pod_role(const std::string& name);

}  // namespace kvrun::shim
