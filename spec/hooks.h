// The spec's hooks as the agent sees them: only startContainer, which runs inside the container
// (its path resolves there) right before the container's process execs, as runc's init runs it.
// The host runs every other kind (shim/oci/hooks.h) and the agent ignores them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/oci_hook.h"

namespace kvrun::spec {

// hooks.startContainer of config.hooks (`hooks`, at `path`, "config.hooks"). Throws
// Error("config.hooks.startContainer[0].path: must be an absolute path").
std::vector<Hook> parse_start_container_hooks(const nlohmann::json& hooks, const std::string& path);

}  // namespace kvrun::spec
