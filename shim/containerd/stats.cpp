#include "shim/containerd/stats.h"

#include <chrono>

#include "common/error.h"
#include "shim/containerd/agent_link.h"

namespace kvrun::containerd {
io::containerd::cgroups::v2::Metrics metrics_from_agent(const protocol::ContainerStats& stats) {
  // A count the cgroup cannot tell (absent or null in the reply) is 0, as runc's shim reports it.
  io::containerd::cgroups::v2::Metrics metrics;
  const auto memory = stats.memory.value_or(protocol::ContainerStats::Memory{});
  const auto cpu = stats.cpu.value_or(protocol::ContainerStats::Cpu{});
  const auto pids = stats.pids.value_or(protocol::ContainerStats::Pids{});
  metrics.mutable_memory()->set_usage(memory.current.value_or(0));
  metrics.mutable_memory()->set_usage_limit(memory.max.value_or(0));
  metrics.mutable_memory_events()->set_oom(memory.oom.value_or(0));
  metrics.mutable_memory_events()->set_oom_kill(memory.oom_kill.value_or(0));
  metrics.mutable_cpu()->set_usage_usec(cpu.usage_usec.value_or(0));
  metrics.mutable_cpu()->set_user_usec(cpu.user_usec.value_or(0));
  metrics.mutable_cpu()->set_system_usec(cpu.system_usec.value_or(0));
  metrics.mutable_pids()->set_current(pids.current.value_or(0));
  metrics.mutable_pids()->set_limit(pids.max.value_or(0));
  return metrics;
}

io::containerd::cgroups::v2::Metrics container_metrics(const std::filesystem::path& kvrun_root,
                                                       const std::string& id) {
  auto client = connect_task_agent(kvrun_root, id, std::chrono::seconds(10));
  return metrics_from_agent(client.call(protocol::StatsContainer{id}));
}

}  // namespace kvrun::containerd
