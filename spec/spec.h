// The subset of the OCI runtime-spec config.json the agent supports, parsed strictly: a field we
// do not implement is an error naming it, never silently ignored.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/oci_hook.h"

namespace kvrun::spec {

struct UserSpec {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::vector<std::uint32_t> additional_gids;
  std::optional<std::uint32_t> umask;  // absent: the agent's own (0022) is inherited
};

// Capability numbers (CAP_*), one list per set.
struct CapabilitySpec {
  std::vector<int> bounding, effective, inheritable, permitted, ambient;
};

struct RlimitSpec {
  int resource = 0;  // RLIMIT_*
  std::string name;
  std::uint64_t soft = 0, hard = 0;
};

// process.ioPriority: ioprio_set(2) of the process (IOPRIO_CLASS_* values).
enum class IoPriorityClass { kRealtime = 1, kBestEffort = 2, kIdle = 3 };
struct IoPrioritySpec {
  IoPriorityClass io_class = IoPriorityClass::kBestEffort;
  int priority = 0;  // 0 (highest) to 7
};

// process.scheduler: sched_setattr(2) of the process, fields as the kernel's struct sched_attr.
struct SchedulerSpec {
  std::string policy_name;  // "SCHED_FIFO", for errors
  std::uint32_t policy = 0;
  std::uint64_t flags = 0;  // SCHED_FLAG_*
  int nice = 0;
  std::uint32_t priority = 0;
  std::uint64_t runtime = 0, deadline = 0, period = 0;  // nanoseconds, SCHED_DEADLINE only
};

struct ProcessSpec {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  UserSpec user;
  CapabilitySpec capabilities;
  bool no_new_privileges = false;
  std::vector<RlimitSpec> rlimits;
  std::optional<int> oom_score_adj;
  std::optional<IoPrioritySpec> io_priority;
  std::optional<SchedulerSpec> scheduler;
  // LSM labels: accepted where the kernel has no such LSM (the guest's), never applied.
  std::string apparmor_profile, selinux_label;
  // A pseudo-terminal on 0-2 instead of pipes; its size (0: the kernel's default).
  bool terminal = false;
  unsigned short console_rows = 0, console_cols = 0;
};

struct MountSpec {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

enum class NamespaceType { kPid, kNetwork, kMount, kIpc, kUts, kUser, kCgroup, kTime };

// linux.timeOffsets of a new time namespace: one clock ("monotonic" or "boottime").
struct TimeOffsetSpec {
  std::string clock;
  std::int64_t seconds = 0;
  std::uint32_t nanoseconds = 0;  // below 1e9
};

// One linux.devices entry: a node the container's /dev gets (made with mknod, or bound from
// the agent's /dev in a user namespace). Access is still decided by the device rules.
enum class DeviceNodeType { kChar, kBlock, kFifo };
struct DeviceNodeSpec {
  std::string path;  // absolute, under /dev, without ".."
  DeviceNodeType type = DeviceNodeType::kChar;
  std::uint32_t major = 0, minor = 0;
  std::uint32_t file_mode = 0666;  // permission bits only
  std::uint32_t uid = 0, gid = 0;
};

struct IdMapping {
  std::uint32_t container_id = 0, host_id = 0, size = 0;
};

struct SeccompArgSpec {
  unsigned index = 0;
  std::uint64_t value = 0, value_two = 0;
  std::string op;  // SCMP_CMP_*
};

struct SeccompRuleSpec {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<std::uint32_t> errno_ret;
  std::vector<SeccompArgSpec> args;
  std::string path;  // "linux.seccomp.syscalls[3]", for errors found later
};

struct SeccompSpec {
  std::string default_action;
  std::optional<std::uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // SCMP_ARCH_*
  // SECCOMP_FILTER_FLAG_*; nullopt (absent) is not the empty list: runc then sets SPEC_ALLOW.
  std::optional<std::vector<std::string>> flags;
  // Parsed for the error message only: SCMP_ACT_NOTIFY, their one user, is refused.
  std::string listener_path, listener_metadata;
  std::vector<SeccompRuleSpec> syscalls;
};

// One linux.resources.devices rule. Access bits have the values of the kernel's device hook
// (BPF_DEVCG_ACC_*), so the filter uses them as they are.
enum class DeviceType { kAll, kChar, kBlock };
inline constexpr std::uint8_t kDeviceMknod = 1, kDeviceRead = 2, kDeviceWrite = 4;
inline constexpr std::uint8_t kDeviceAllAccess = kDeviceMknod | kDeviceRead | kDeviceWrite;
struct DeviceRuleSpec {
  bool allow = false;
  DeviceType type = DeviceType::kAll;
  std::optional<std::uint32_t> major, minor;  // nullopt: any (OCI's -1 or absent)
  std::uint8_t access = kDeviceAllAccess;     // never 0
  bool operator==(const DeviceRuleSpec&) const = default;
};

struct HugepageLimitSpec {
  std::string page_size;  // "2MB", as in the hugetlb.<size>.max file names
  std::uint64_t limit = 0;
};

struct RdmaLimitSpec {
  std::optional<std::uint32_t> hca_handles, hca_objects;  // nullopt: "max"
};

// linux.resources (parsed in resources.cpp). Fields cgroup v2 has no file for
// (swappiness, disableOOMKiller, realtime, network, kernel memory) are accepted and logged
// there, not kept: runc's cgroup v2 driver ignores them as well.
struct ResourcesSpec {
  std::optional<std::int64_t> memory_limit;  // bytes, -1 = unlimited
  std::optional<std::int64_t> memory_swap;   // memory + swap, as in OCI
  std::optional<std::int64_t> memory_reservation;  // memory.low; -1 = max
  // Refuse a memory limit below the current usage (runc's checkBeforeUpdate).
  bool memory_check_before_update = false;
  std::optional<std::int64_t> pids_limit;    // -1 or 0 = unlimited
  std::optional<std::uint64_t> cpu_shares;
  std::optional<std::int64_t> cpu_quota;
  std::optional<std::uint64_t> cpu_period;
  std::optional<std::uint64_t> cpu_burst;  // cpu.max.burst, microseconds
  std::optional<std::int64_t> cpu_idle;    // cpu.idle, 0 or 1
  std::optional<std::string> cpuset_cpus, cpuset_mems;
  std::optional<std::uint64_t> blkio_weight;  // OCI blockIO.weight, 10-1000
  std::vector<HugepageLimitSpec> hugepage_limits;
  std::map<std::string, RdmaLimitSpec> rdma;  // device name -> limits
  // cgroup v2 file name -> value, written last (they override the fields above, as in runc).
  std::map<std::string, std::string> unified;
  // In the spec's order (the last matching rule decides); nullopt: the spec has none.
  std::optional<std::vector<DeviceRuleSpec>> devices;
  bool empty() const;
};

struct LinuxSpec {
  std::vector<NamespaceType> namespaces;                 // every listed type
  std::map<NamespaceType, std::string> namespace_paths;  // those joined instead of created
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::optional<SeccompSpec> seccomp;
  ResourcesSpec resources;
  std::string rootfs_propagation;  // empty: rslave
  std::optional<unsigned long> personality;  // PER_LINUX or PER_LINUX32
  std::vector<TimeOffsetSpec> time_offsets;
  std::vector<DeviceNodeSpec> devices;
  std::string mount_label;  // SELinux context of the mounts: see apparmor_profile
  bool has(NamespaceType type) const;
};

struct ContainerSpec {
  ProcessSpec process;
  std::string root_path;
  bool root_readonly = false;
  std::string hostname;
  std::string domainname;
  std::vector<MountSpec> mounts;
  LinuxSpec linux_spec;
  std::map<std::string, std::string> annotations;  // the hooks' state carries them
  std::vector<Hook> start_container_hooks;         // hooks.h; the host runs the rest
};

// Throws Error("<field path>: <problem>").
ContainerSpec parse_container_spec(const nlohmann::json& config);
// `path` prefixes field names in errors ("process" in a config, "body.process" in ExecProcess).
ProcessSpec parse_process_spec(const nlohmann::json& process, const std::string& path);

// linux.resources of a spec, or an update of them (UpdateContainer); `path` prefixes errors.
ResourcesSpec parse_resources(const nlohmann::json& json, const std::string& path);

std::string_view namespace_name(NamespaceType type);

}  // namespace kvrun::spec
