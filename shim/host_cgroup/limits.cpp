#include "shim/host_cgroup/limits.h"

#include "common/error.h"

namespace kvrun::host_cgroup {
namespace {

constexpr std::uint64_t kDefaultPeriod = 100000;                  // the kernel's default CFS period
constexpr std::uint64_t kMinPeriod = 1000, kMaxPeriod = 1000000;  // what the kernel accepts

[[noreturn]] void refuse(const std::string& field, const std::string& problem) {
  throw Error("config.json: linux.resources.cpu." + field + ": " + problem);
}

const nlohmann::json* cpu_section(const nlohmann::json& config) {
  auto linux = config.find("linux");
  if (linux == config.end() || !linux->is_object()) return nullptr;
  auto resources = linux->find("resources");
  if (resources == linux->end() || !resources->is_object()) return nullptr;
  auto cpu = resources->find("cpu");
  if (cpu == resources->end() || !cpu->is_object()) return nullptr;
  return &*cpu;
}

std::optional<std::uint64_t> unsigned_field(const nlohmann::json& cpu, const std::string& name) {
  auto it = cpu.find(name);
  if (it == cpu.end() || it->is_null()) return std::nullopt;
  if (!it->is_number_integer() ||
      (it->is_number_integer() && !it->is_number_unsigned() && it->get<std::int64_t>() < 0))
    refuse(name, "must be a non-negative integer");
  return it->get<std::uint64_t>();
}

std::string string_field(const nlohmann::json& cpu, const std::string& name) {
  auto it = cpu.find(name);
  if (it == cpu.end() || it->is_null()) return "";
  if (!it->is_string()) refuse(name, "must be a string");
  auto value = it->get<std::string>();
  // Written verbatim into a cgroup file: the kernel parses the list, but not past a newline.
  if (value.find_first_not_of("0123456789,-") != std::string::npos)
    refuse(name, "\"" + value + "\" is not a CPU or node list");
  return value;
}

}  // namespace

std::string spec_cgroups_path(const nlohmann::json& config) {
  auto linux = config.find("linux");
  if (linux == config.end() || !linux->is_object()) return "";
  auto path = linux->find("cgroupsPath");
  if (path == linux->end() || path->is_null()) return "";
  if (!path->is_string()) throw Error("config.json: linux.cgroupsPath: must be a string");
  return path->get<std::string>();
}

HostLimits host_limits(const nlohmann::json& config,
                       std::optional<std::uint64_t> guest_memory_mib) {
  HostLimits limits;
  limits.pids_max = kPidsMax;
  if (!guest_memory_mib) return limits;
  limits.memory_bytes = (*guest_memory_mib + kVmmOverheadMib) << 20;
  const nlohmann::json* cpu = cpu_section(config);
  if (!cpu) return limits;
  if (auto quota = cpu->find("quota"); quota != cpu->end() && !quota->is_null()) {
    if (!quota->is_number_integer()) refuse("quota", "must be an integer");
    // -1 and 0 mean unlimited, as in runc.
    if (quota->get<std::int64_t>() > 0) limits.cpu_quota = quota->get<std::int64_t>();
  }
  limits.cpu_period = unsigned_field(*cpu, "period");
  if (limits.cpu_period && *limits.cpu_period == 0) limits.cpu_period.reset();
  if (limits.cpu_quota && !limits.cpu_period) limits.cpu_period = kDefaultPeriod;
  if (limits.cpu_period && (*limits.cpu_period < kMinPeriod || *limits.cpu_period > kMaxPeriod))
    refuse("period", "must be between 1000 and 1000000 microseconds");
  if (limits.cpu_quota && *limits.cpu_quota < static_cast<std::int64_t>(kMinPeriod))
    refuse("quota", "must be at least 1000 microseconds");
  limits.cpu_shares = unsigned_field(*cpu, "shares");
  if (limits.cpu_shares && *limits.cpu_shares == 0) limits.cpu_shares.reset();
  if (limits.cpu_shares && (*limits.cpu_shares < 2 || *limits.cpu_shares > 262144))
    refuse("shares", "must be between 2 and 262144");
  limits.cpuset_cpus = string_field(*cpu, "cpus");
  limits.cpuset_mems = string_field(*cpu, "mems");
  return limits;
}

std::uint64_t shares_to_weight(std::uint64_t shares) { return 1 + ((shares - 2) * 9999) / 262142; }

std::vector<Setting> v1_settings(const HostLimits& l) {
  std::vector<Setting> out;
  if (l.memory_bytes)
    out.push_back({"memory", "memory.limit_in_bytes", std::to_string(*l.memory_bytes)});
  if (l.cpu_period) out.push_back({"cpu", "cpu.cfs_period_us", std::to_string(*l.cpu_period)});
  if (l.cpu_quota) out.push_back({"cpu", "cpu.cfs_quota_us", std::to_string(*l.cpu_quota)});
  if (l.cpu_shares) out.push_back({"cpu", "cpu.shares", std::to_string(*l.cpu_shares)});
  if (!l.cpuset_cpus.empty()) out.push_back({"cpuset", "cpuset.cpus", l.cpuset_cpus});
  if (!l.cpuset_mems.empty()) out.push_back({"cpuset", "cpuset.mems", l.cpuset_mems});
  if (l.pids_max) out.push_back({"pids", "pids.max", std::to_string(*l.pids_max)});
  return out;
}

std::vector<Setting> v2_settings(const HostLimits& l) {
  std::vector<Setting> out;
  if (l.memory_bytes) out.push_back({"memory", "memory.max", std::to_string(*l.memory_bytes)});
  if (l.cpu_period) {
    std::string quota = l.cpu_quota ? std::to_string(*l.cpu_quota) : "max";
    out.push_back({"cpu", "cpu.max", quota + " " + std::to_string(*l.cpu_period)});
  }
  if (l.cpu_shares)
    out.push_back({"cpu", "cpu.weight", std::to_string(shares_to_weight(*l.cpu_shares))});
  if (!l.cpuset_cpus.empty()) out.push_back({"cpuset", "cpuset.cpus", l.cpuset_cpus});
  if (!l.cpuset_mems.empty()) out.push_back({"cpuset", "cpuset.mems", l.cpuset_mems});
  if (l.pids_max) out.push_back({"pids", "pids.max", std::to_string(*l.pids_max)});
  return out;
}

}  // namespace kvrun::host_cgroup
