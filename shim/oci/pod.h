// Where a container stands in a Kubernetes pod, read from the annotations the CRI runtimes put in
// its spec (containerd's CRI plugin and CRI-O each have their own names). The pod's sandbox
// container (the pause container) gets the VM; every other container of the pod joins that VM.
#pragma once

#include <map>
#include <string>

#include "shim/common/kinds.h"

namespace kvrun::oci {

using shim::PodRole;  // shim/common/kinds.h, which state.json stores too

struct PodPlacement {
  PodRole role = PodRole::kStandalone;
  std::string sandbox_id;  // the sandbox container's id; empty when standalone
};

// Throws Error("config.json: annotations.<key>: <problem>") for an unknown container type, a
// member without a sandbox id, an id that is not a valid container id, or the two conventions
// disagreeing.
PodPlacement pod_placement(const std::map<std::string, std::string>& annotations,
                           const std::string& container_id);

}  // namespace kvrun::oci
