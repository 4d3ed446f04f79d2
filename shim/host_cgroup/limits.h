// What a sandbox may use of the host, and the cgroup files that say so on v1 and v2.
//   memory  the guest's RAM (sandbox/sizing.h decides it from the spec's memory limit) plus
//           kVmmOverheadMib for kvrun-vmm itself and the monitor: the VM can never take more
//           of the host than it was given, whatever its kernel does
//   cpu     linux.resources.cpu quota/period and shares as runc applies them (shares -> v2
//           weight with runc's formula), cpus/mems as the cpuset
//   pids    kPidsMax: every thread of the monitor and kvrun-vmm (one per vCPU, the device and
//           control threads) with room to spare, so a subverted VMM cannot fork-bomb the host
// A pod member's monitor starts no VM (the pod's VM runs in the sandbox container's cgroup):
// its cgroup gets the pids limit only.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kvrun::host_cgroup {

inline constexpr std::uint64_t kVmmOverheadMib = 64;
inline constexpr std::uint64_t kPidsMax = 512;

struct HostLimits {
  std::optional<std::uint64_t> memory_bytes;
  std::optional<std::int64_t> cpu_quota;    // microseconds per period, > 0
  std::optional<std::uint64_t> cpu_period;  // microseconds
  std::optional<std::uint64_t> cpu_shares;  // [2, 262144]
  std::string cpuset_cpus, cpuset_mems;     // "" = the parent's
  std::optional<std::uint64_t> pids_max;
};

// For a sandbox whose guest has `guest_memory_mib` (none: a pod member's relay-only monitor).
// Throws Error "config.json: linux.resources.cpu.<field>: <problem>".
HostLimits host_limits(const nlohmann::json& config, std::optional<std::uint64_t> guest_memory_mib);

// The spec's linux.cgroupsPath, "" when absent. Throws Error if it is not a string.
std::string spec_cgroups_path(const nlohmann::json& config);

struct Setting {
  std::string controller;  // the controller the file belongs to: "memory", "cpu", ...
  std::string file;        // "memory.max", "cpu.cfs_quota_us", ...
  std::string value;
};
// In the order they must be written (v1: the period before the quota it bounds).
std::vector<Setting> v1_settings(const HostLimits& limits);
std::vector<Setting> v2_settings(const HostLimits& limits);

// runc's mapping of OCI (v1) shares [2, 262144] onto v2's cpu.weight [1, 10000].
std::uint64_t shares_to_weight(std::uint64_t shares);

}  // namespace kvrun::host_cgroup
