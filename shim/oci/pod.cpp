#include "shim/oci/pod.h"

#include <optional>

#include "common/error.h"
#include "protocol/messages.h"

namespace kvrun::oci {
namespace {

struct Convention {
  const char* type_key;
  const char* sandbox_id_key;
};

// containerd's CRI plugin, then CRI-O. Both use the values "sandbox" and "container".
constexpr Convention kConventions[] = {
    {"io.kubernetes.cri.container-type", "io.kubernetes.cri.sandbox-id"},
    {"io.kubernetes.cri-o.ContainerType", "io.kubernetes.cri-o.SandboxID"},
};

[[noreturn]] void fail(const std::string& key, const std::string& problem) {
  throw Error("config.json: annotations." + key + ": " + problem);
}

std::optional<PodPlacement> placement_by(const Convention& convention,
                                         const std::map<std::string, std::string>& annotations,
                                         const std::string& container_id) {
  auto type = annotations.find(convention.type_key);
  if (type == annotations.end()) return std::nullopt;
  auto sandbox_id = annotations.find(convention.sandbox_id_key);
  PodPlacement placement;
  if (type->second == "sandbox") {
    placement.role = PodRole::kSandbox;
    // A pod's sandbox is its own sandbox: CRI names it by its own id.
    placement.sandbox_id = container_id;
    if (sandbox_id != annotations.end() && sandbox_id->second != container_id)
      fail(convention.sandbox_id_key, "a sandbox container must name itself (" + container_id +
                                          "), not " + sandbox_id->second);
    return placement;
  }
  if (type->second != "container")
    fail(convention.type_key, "must be \"sandbox\" or \"container\", not \"" + type->second + "\"");
  if (sandbox_id == annotations.end() || sandbox_id->second.empty())
    fail(convention.sandbox_id_key, "required for a container of a pod");
  if (sandbox_id->second == container_id)
    fail(convention.sandbox_id_key, "a container of a pod cannot be its own sandbox");
  try {
    protocol::check_id(sandbox_id->second, "sandbox id", false);
  } catch (const Error& e) {
    fail(convention.sandbox_id_key, e.what());
  }
  placement.role = PodRole::kMember;
  placement.sandbox_id = sandbox_id->second;
  return placement;
}

}  // namespace

PodPlacement pod_placement(const std::map<std::string, std::string>& annotations,
                           const std::string& container_id) {
  std::optional<PodPlacement> found;
  for (const Convention& convention : kConventions) {
    auto placement = placement_by(convention, annotations, container_id);
    if (!placement) continue;
    if (found && (found->role != placement->role || found->sandbox_id != placement->sandbox_id))
      fail(convention.type_key, "disagrees with " + std::string(kConventions[0].type_key));
    found = placement;
  }
  return found.value_or(PodPlacement{});
}

}  // namespace kvrun::oci
