// Reading a container's usage from its cgroup v2 files: what the Stats request reports and how
// OOM kills are noticed. A file the hierarchy lacks (no memory controller on a host) leaves its
// fields unset rather than failing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

namespace kvrun::agent {

struct CgroupStats {
  std::optional<std::uint64_t> memory_current, memory_max;  // max unset when "max"
  std::optional<std::uint64_t> memory_oom, memory_oom_kill;
  std::optional<std::uint64_t> cpu_usage_usec, cpu_user_usec, cpu_system_usec;
  std::optional<std::uint64_t> pids_current, pids_max;  // max unset when "max"
};

CgroupStats read_cgroup_stats(const std::filesystem::path& cgroup);
// Value of `key` in a flat-keyed file such as memory.events ("oom_kill 3"); nullopt if the file
// or the key is missing.
std::optional<std::uint64_t> read_keyed_value(const std::filesystem::path& file,
                                              std::string_view key);

// {"memory": {"current": N, "max": N|null, "oom": N, "oom_kill": N}, "cpu": {"usage_usec": N,
// ...}, "pids": {"current": N, "max": N|null}}, unknown values as null.
nlohmann::json to_json(const CgroupStats& stats);

}  // namespace kvrun::agent
