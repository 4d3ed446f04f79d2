// Task metrics: the agent's cgroup figures for the container (StatsContainer) as containerd's
// cgroups v2 Metrics (io.containerd.cgroups.v2.Metrics), which `ctr task metrics` and CRI decode.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "github.com/containerd/cgroups/v2/stats/metrics.pb.h"

namespace kvrun::containerd {

// Maps the agent's reply; a null (unknown, or "max") figure is left 0. Throws Error if a
// present figure is not a non-negative integer.
io::containerd::cgroups::v2::Metrics metrics_from_agent(const nlohmann::json& stats);

// Asks the agent of the container in kvrun's state root. Throws Error.
io::containerd::cgroups::v2::Metrics container_metrics(const std::filesystem::path& kvrun_root,
                                                       const std::string& id);

}  // namespace kvrun::containerd
