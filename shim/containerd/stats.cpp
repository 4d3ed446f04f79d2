#include "shim/containerd/stats.h"

#include <chrono>

#include "common/error.h"
#include "shim/containerd/agent_link.h"

namespace kvrun::containerd {
namespace {

// The agent is a guest: its numbers are checked like any other input.
std::uint64_t figure(const nlohmann::json& group, const char* name, const char* where) {
  if (!group.is_object() || !group.contains(name) || group[name].is_null()) return 0;
  const auto& value = group[name];
  if (!value.is_number_unsigned() &&
      !(value.is_number_integer() && value.get<std::int64_t>() >= 0)) {
    throw Error(std::string("agent stats: ") + where + "." + name + " is not a count");
  }
  return value.get<std::uint64_t>();
}

const nlohmann::json& group(const nlohmann::json& stats, const char* name) {
  static const nlohmann::json empty = nlohmann::json::object();
  if (!stats.is_object() || !stats.contains(name)) return empty;
  return stats[name];
}

}  // namespace

io::containerd::cgroups::v2::Metrics metrics_from_agent(const nlohmann::json& stats) {
  io::containerd::cgroups::v2::Metrics metrics;
  const auto& memory = group(stats, "memory");
  const auto& cpu = group(stats, "cpu");
  const auto& pids = group(stats, "pids");
  metrics.mutable_memory()->set_usage(figure(memory, "current", "memory"));
  metrics.mutable_memory()->set_usage_limit(figure(memory, "max", "memory"));
  metrics.mutable_memory_events()->set_oom(figure(memory, "oom", "memory"));
  metrics.mutable_memory_events()->set_oom_kill(figure(memory, "oom_kill", "memory"));
  metrics.mutable_cpu()->set_usage_usec(figure(cpu, "usage_usec", "cpu"));
  metrics.mutable_cpu()->set_user_usec(figure(cpu, "user_usec", "cpu"));
  metrics.mutable_cpu()->set_system_usec(figure(cpu, "system_usec", "cpu"));
  metrics.mutable_pids()->set_current(figure(pids, "current", "pids"));
  metrics.mutable_pids()->set_limit(figure(pids, "max", "pids"));
  return metrics;
}

io::containerd::cgroups::v2::Metrics container_metrics(const std::filesystem::path& kvrun_root,
                                                       const std::string& id) {
  auto client = connect_task_agent(kvrun_root, id, std::chrono::seconds(10));
  return metrics_from_agent(client.call_ok(protocol::StatsContainer{id}));
}

}  // namespace kvrun::containerd
