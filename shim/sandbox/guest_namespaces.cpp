#include "shim/sandbox/guest_namespaces.h"

#include "common/error.h"

namespace kvrun::sandbox {

void check_namespaces(const oci::Bundle& bundle, SandboxKind kind, bool pod_member) {
  if (kind != SandboxKind::kVm) return;  // a host sandbox joins host namespaces, as runc does
  const auto& config = bundle.config;
  auto linux_it = config.find("linux");
  if (linux_it == config.end() || !linux_it->is_object()) return;
  auto list = linux_it->find("namespaces");
  if (list == linux_it->end() || !list->is_array()) return;  // the agent names a bad type
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto& entry = (*list)[i];
    if (!entry.is_object() || !entry.contains("path")) continue;
    std::string type = entry.value("type", "");
    if (type == "network") continue;
    if (pod_member && (type == "ipc" || type == "uts")) continue;
    std::string field = "linux.namespaces[" + std::to_string(i) + "].path";
    throw Error("config.json: " + field + ": a VM sandbox cannot join the host's " + type +
                " namespace (the container runs under the guest's kernel; only a network " +
                "namespace, and a pod member's network, ipc and uts, can be joined)");
  }
}

}  // namespace kvrun::sandbox
