// Task metrics: the agent's cgroup figures for the container (StatsContainer) as containerd's
// cgroups v2 Metrics (io.containerd.cgroups.v2.Metrics), which `ctr task metrics` and CRI decode.
#pragma once

#include <filesystem>
#include <string>

#include "github.com/containerd/cgroups/v2/stats/metrics.pb.h"
#include "protocol/replies.h"

namespace kvrun::containerd {

// Maps the agent's reply, which its decoder has checked (protocol/replies.h); a figure the
// cgroup cannot tell (null: unknown, or "max") is left 0.
io::containerd::cgroups::v2::Metrics metrics_from_agent(const protocol::ContainerStats& stats);

// Asks the agent of the container in kvrun's state root. Throws Error.
io::containerd::cgroups::v2::Metrics container_metrics(const std::filesystem::path& kvrun_root,
                                                       const std::string& id);

}  // namespace kvrun::containerd
