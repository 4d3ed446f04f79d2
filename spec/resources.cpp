// Parsing of linux.resources (a container's, or an UpdateContainer's), runtime-spec 1.1. The
// guest has cgroup v2 only; what v2 has no file for is accepted and logged, as runc's v2
// driver ignores it, and the mapping onto files is cgroups.cpp's.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "common/error.h"
#include "protocol/json_reader.h"
#include "spec/reader.h"
#include "spec/spec.h"

namespace kvrun::spec {
namespace {

using protocol::element_path;
using protocol::expect_string;
using protocol::JsonReader;

// Each rule becomes a few BPF instructions; the kernel takes at most 4096 from anyone.
constexpr std::size_t kMaxDeviceRules = 256;
// Bounds for the lists and maps below: far above any real use, well below a flood.
constexpr std::size_t kMaxHugepageLimits = 16;
constexpr std::size_t kMaxRdmaDevices = 64;
constexpr std::size_t kMaxUnified = 256;
constexpr std::size_t kMaxUnifiedValue = 4096;
constexpr std::size_t kMaxNameLength = 64;  // IB_DEVICE_NAME_MAX; cgroup file names are shorter

// Files the agent itself manages: written through unified they would move processes into the
// container's cgroup (the agent's own, say), kill or freeze it behind the agent's back, or
// change its type.
constexpr std::array<std::string_view, 6> kAgentOwnedFiles = {
    "cgroup.procs", "cgroup.threads", "cgroup.subtree_control",
    "cgroup.kill",  "cgroup.freeze",  "cgroup.type"};

// OCI's -1 (or absence) means any number.
std::optional<std::uint32_t> device_number(JsonReader& r, std::string_view key) {
  auto value = r.optional_integer(key, -1, UINT32_MAX);
  if (!value || *value < 0) return std::nullopt;
  return static_cast<std::uint32_t>(*value);
}

DeviceRuleSpec parse_device_rule(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  DeviceRuleSpec rule;
  rule.allow = r.boolean("allow");
  std::string type = r.optional_string("type").value_or("a");
  if (type == "a") {
    rule.type = DeviceType::kAll;
  } else if (type == "c") {
    rule.type = DeviceType::kChar;
  } else if (type == "b") {
    rule.type = DeviceType::kBlock;
  } else {
    throw Error(r.path_of("type") + ": unknown device type \"" + type + "\" (a, b or c)");
  }
  rule.major = device_number(r, "major");
  rule.minor = device_number(r, "minor");
  std::string access = r.optional_string("access").value_or("rwm");
  rule.access = 0;
  for (char c : access) {
    if (c == 'r') {
      rule.access |= kDeviceRead;
    } else if (c == 'w') {
      rule.access |= kDeviceWrite;
    } else if (c == 'm') {
      rule.access |= kDeviceMknod;
    } else {
      throw Error(r.path_of("access") + ": \"" + access + "\" is not made of r, w and m");
    }
  }
  if (rule.access == 0) throw Error(r.path_of("access") + ": must not be empty");
  ignore_unknown(r);
  return rule;
}

// Accepted, never applied: cgroup v2 has no such file.
void ignored(const std::string& field, std::string_view why) {
  spdlog::warn("{}: ignored ({})", field, why);
}

void parse_memory(JsonReader& m, ResourcesSpec& res) {
  res.memory_limit = m.optional_integer("limit", -1, INT64_MAX);
  res.memory_swap = m.optional_integer("swap", -1, INT64_MAX);
  res.memory_reservation = m.optional_integer("reservation", -1, INT64_MAX);
  res.memory_check_before_update = m.optional_boolean("checkBeforeUpdate").value_or(false);
  for (const char* key : {"kernel", "kernelTCP"}) {
    if (m.optional_integer(key, INT64_MIN, INT64_MAX)) {
      spdlog::debug("{}: deprecated kernel memory limit, ignored as runc does", m.path_of(key));
    }
  }
  if (m.optional_boolean("useHierarchy")) {
    spdlog::debug("{}: cgroup v2 is always hierarchical", m.path_of("useHierarchy"));
  }
  // Unbounded: runc checks [0, 100] only where it can apply it, on cgroup v1.
  if (m.optional_unsigned("swappiness")) {
    ignored(m.path_of("swappiness"), "cgroup v2 has no per-cgroup swappiness");
  }
  if (m.optional_boolean("disableOOMKiller").value_or(false)) {
    ignored(m.path_of("disableOOMKiller"), "cgroup v2 cannot disable the OOM killer");
  }
  ignore_unknown(m);
}

void parse_cpu(JsonReader& c, ResourcesSpec& res) {
  res.cpu_shares = c.optional_unsigned("shares", 262144);
  res.cpu_quota = c.optional_integer("quota", -1, INT64_MAX);
  res.cpu_period = c.optional_unsigned("period", 1000000);
  res.cpu_burst = c.optional_unsigned("burst", INT64_MAX);
  res.cpu_idle = c.optional_integer("idle", 0, 1);
  res.cpuset_cpus = c.optional_string("cpus");
  res.cpuset_mems = c.optional_string("mems");
  auto runtime = c.optional_integer("realtimeRuntime", INT64_MIN, INT64_MAX);
  auto period = c.optional_unsigned("realtimePeriod");
  if (runtime.value_or(0) != 0 || period.value_or(0) != 0) {
    ignored(c.path_of(runtime.value_or(0) != 0 ? "realtimeRuntime" : "realtimePeriod"),
            "cgroup v2 has no real-time bandwidth limits");
  }
  ignore_unknown(c);
}

void parse_block_io(JsonReader& b, ResourcesSpec& res) {
  res.blkio_weight = b.optional_unsigned("weight", 1000);
  if (res.blkio_weight && *res.blkio_weight < 10) {
    throw Error(b.path_of("weight") + ": expected an integer in [10, 1000]");
  }
  // Per-device rules need the host's device numbers mapped to the guest's disks: not yet.
  for (const char* key :
       {"leafWeight", "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice",
        "throttleReadIOPSDevice", "throttleWriteIOPSDevice"}) {
    if (b.has(key)) throw Error(b.path_of(key) + ": is not supported (only blockIO.weight is)");
  }
  ignore_unknown(b);
}

// "2MB", "1GB", "64KB": the spelling of the kernel's hugetlb.<size>.* files.
bool valid_page_size(std::string_view size) {
  if (size.size() < 3 || size.size() > 8 || size.substr(size.size() - 1) != "B") return false;
  char unit = size[size.size() - 2];
  if (unit != 'K' && unit != 'M' && unit != 'G') return false;
  auto digits = size.substr(0, size.size() - 2);
  return std::all_of(digits.begin(), digits.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

void parse_hugepage_limits(const nlohmann::json& list, const std::string& path,
                           ResourcesSpec& res) {
  if (list.size() > kMaxHugepageLimits) {
    throw Error(path + ": more than " + std::to_string(kMaxHugepageLimits) + " limits");
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    JsonReader h(list[i], element_path(path, i));
    HugepageLimitSpec limit;
    limit.page_size = h.string("pageSize");
    if (!valid_page_size(limit.page_size)) {
      throw Error(h.path_of("pageSize") + ": \"" + limit.page_size +
                  "\" is not a page size like 2MB or 1GB");
    }
    limit.limit = h.unsigned_integer("limit");
    ignore_unknown(h);
    res.hugepage_limits.push_back(limit);
  }
}

bool printable_word(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) { return ch > ' ' && ch < 0x7f; });
}

void parse_rdma(const nlohmann::json& map, const std::string& path, ResourcesSpec& res) {
  if (!map.is_object()) throw Error(path + ": expected an object");
  if (map.size() > kMaxRdmaDevices) {
    throw Error(path + ": more than " + std::to_string(kMaxRdmaDevices) + " devices");
  }
  for (const auto& [device, value] : map.items()) {
    std::string field = path + "." + device;
    // One line of rdma.max names the device first: a space or newline would forge another.
    if (device.empty() || device.size() > kMaxNameLength || !printable_word(device)) {
      throw Error(field + ": is not an RDMA device name");
    }
    JsonReader d(value, field);
    RdmaLimitSpec limit;
    if (auto n = d.optional_unsigned("hcaHandles", UINT32_MAX))
      limit.hca_handles = static_cast<std::uint32_t>(*n);
    if (auto n = d.optional_unsigned("hcaObjects", UINT32_MAX))
      limit.hca_objects = static_cast<std::uint32_t>(*n);
    ignore_unknown(d);
    res.rdma.emplace(device, limit);
  }
}

void parse_network(JsonReader& n) {
  bool set = n.optional_unsigned("classID", UINT32_MAX).has_value();
  if (const auto* priorities = n.optional_array("priorities")) {
    for (std::size_t i = 0; i < priorities->size(); ++i) {
      JsonReader p((*priorities)[i], element_path(n.path_of("priorities"), i));
      p.string("name");
      p.unsigned_integer("priority", UINT32_MAX);
      ignore_unknown(p);
    }
    set = set || !priorities->empty();
  }
  if (set) ignored(n.path(), "net_cls and net_prio exist on cgroup v1 only");
  ignore_unknown(n);
}

void parse_unified(const nlohmann::json& map, const std::string& path, ResourcesSpec& res) {
  if (!map.is_object()) throw Error(path + ": expected an object");
  if (map.size() > kMaxUnified) {
    throw Error(path + ": more than " + std::to_string(kMaxUnified) + " files");
  }
  for (const auto& [file, value] : map.items()) {
    std::string field = path + "." + file;
    // A file directly in the container's cgroup: no path, no hidden or parent entry.
    bool name_ok = !file.empty() && file.size() <= kMaxNameLength && file.front() != '.' &&
                   std::all_of(file.begin(), file.end(), [](char ch) {
                     return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                            (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
                   });
    if (!name_ok) throw Error(field + ": is not a cgroup file name");
    auto dot = file.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == file.size()) {
      throw Error(field + ": must be in the form CONTROLLER.PARAMETER");
    }
    if (std::find(kAgentOwnedFiles.begin(), kAgentOwnedFiles.end(), file) !=
        kAgentOwnedFiles.end()) {
      throw Error(field + ": is managed by the agent and cannot be set");
    }
    std::string content = expect_string(value, field);
    if (content.size() > kMaxUnifiedValue || content.find('\0') != std::string::npos) {
      throw Error(field + ": value longer than " + std::to_string(kMaxUnifiedValue) +
                  " bytes or with a NUL byte");
    }
    res.unified.emplace(file, std::move(content));
  }
}

}  // namespace

ResourcesSpec parse_resources(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  ResourcesSpec res;
  if (const auto* memory = r.optional_object("memory")) {
    JsonReader m(*memory, r.path_of("memory"));
    parse_memory(m, res);
  }
  if (const auto* pids = r.optional_object("pids")) {
    JsonReader p(*pids, r.path_of("pids"));
    res.pids_limit = p.integer("limit", -1, INT64_MAX);
    ignore_unknown(p);
  }
  if (const auto* cpu = r.optional_object("cpu")) {
    JsonReader c(*cpu, r.path_of("cpu"));
    parse_cpu(c, res);
  }
  if (const auto* block_io = r.optional_object("blockIO")) {
    JsonReader b(*block_io, r.path_of("blockIO"));
    parse_block_io(b, res);
  }
  if (const auto* limits = r.optional_array("hugepageLimits")) {
    parse_hugepage_limits(*limits, r.path_of("hugepageLimits"), res);
  }
  if (const auto* rdma = r.optional_object("rdma")) parse_rdma(*rdma, r.path_of("rdma"), res);
  if (const auto* network = r.optional_object("network")) {
    JsonReader n(*network, r.path_of("network"));
    parse_network(n);
  }
  if (const auto* unified = r.optional_object("unified")) {
    parse_unified(*unified, r.path_of("unified"), res);
  }
  if (const auto* devices = r.optional_array("devices")) {
    if (devices->size() > kMaxDeviceRules) {
      throw Error(r.path_of("devices") + ": more than " + std::to_string(kMaxDeviceRules) +
                  " rules");
    }
    res.devices.emplace();
    for (std::size_t i = 0; i < devices->size(); ++i) {
      res.devices->push_back(
          parse_device_rule((*devices)[i], element_path(r.path_of("devices"), i)));
    }
  }
  ignore_unknown(r);
  return res;
}

bool ResourcesSpec::empty() const {
  return !memory_limit && !memory_swap && !memory_reservation && !pids_limit && !cpu_shares &&
         !cpu_quota && !cpu_period && !cpu_burst && !cpu_idle && !cpuset_cpus && !cpuset_mems &&
         !blkio_weight && hugepage_limits.empty() && rdma.empty() && unified.empty() && !devices;
}

}  // namespace kvrun::spec
