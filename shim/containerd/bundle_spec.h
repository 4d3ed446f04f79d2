// What the shim changes in containerd's config.json before kvrun reads it. containerd writes
// device cgroup rules for host devices (/dev/null, /dev/tty, ...); in a VM the guest's devices
// are its own and kvrun's agent takes only the deny-all rule, so the allow rules are dropped
// (the guest's device nodes come from its own kernel, not from the host), except a rule for a
// node the spec lists in linux.devices, which the agent makes in the guest.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace kvrun::containerd {

// Returns true if the spec was changed.
bool drop_host_device_rules(nlohmann::json& spec);
// Applies the above to <bundle>/config.json (rewritten atomically). Throws Error.
void adjust_bundle_spec(const std::filesystem::path& bundle);

}  // namespace kvrun::containerd
