// Parsing of the spec's linux.seccomp object.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "spec/spec.h"

namespace kvrun::spec {

// Throws Error("<field path>: <problem>"); `path` is "config.linux.seccomp". nullopt: no
// filter, for an object with neither defaultAction nor rules (runc's reading).
std::optional<SeccompSpec> parse_seccomp(const nlohmann::json& json, const std::string& path);

}  // namespace kvrun::spec
