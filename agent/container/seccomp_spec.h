// Parsing of the spec's linux.seccomp object.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "agent/container/spec.h"

namespace kvrun::agent {

// Throws Error("<field path>: <problem>"); `path` is "config.linux.seccomp".
SeccompSpec parse_seccomp(const nlohmann::json& json, const std::string& path);

}  // namespace kvrun::agent
