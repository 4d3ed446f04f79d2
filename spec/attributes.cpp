#include "spec/attributes.h"

#include <spdlog/spdlog.h>
#include <sys/personality.h>
#include <sys/stat.h>

#include <array>
#include <set>
#include <string_view>
#include <utility>

#include "common/error.h"
#include "protocol/json_reader.h"
#include "spec/reader.h"

namespace kvrun::spec {
namespace {

using protocol::element_path;
using protocol::expect_string;
using protocol::JsonReader;

// Linux's policy numbers (SCHED_* in <linux/sched.h>). SCHED_ISO is in the spec's list but was
// never merged into Linux: every kernel refuses it.
constexpr std::array kPolicies = {
    std::pair<std::string_view, std::uint32_t>{"SCHED_OTHER", 0},
    std::pair<std::string_view, std::uint32_t>{"SCHED_FIFO", 1},
    std::pair<std::string_view, std::uint32_t>{"SCHED_RR", 2},
    std::pair<std::string_view, std::uint32_t>{"SCHED_BATCH", 3},
    std::pair<std::string_view, std::uint32_t>{"SCHED_IDLE", 5},
    std::pair<std::string_view, std::uint32_t>{"SCHED_DEADLINE", 6},
};
constexpr std::uint32_t kSchedFifo = 1, kSchedRr = 2, kSchedDeadline = 6;

constexpr std::array kSchedFlags = {
    std::pair<std::string_view, std::uint64_t>{"SCHED_FLAG_RESET_ON_FORK", 0x01},
    std::pair<std::string_view, std::uint64_t>{"SCHED_FLAG_RECLAIM", 0x02},
    std::pair<std::string_view, std::uint64_t>{"SCHED_FLAG_DL_OVERRUN", 0x04},
    std::pair<std::string_view, std::uint64_t>{"SCHED_FLAG_KEEP_POLICY", 0x08},
    std::pair<std::string_view, std::uint64_t>{"SCHED_FLAG_KEEP_PARAMS", 0x10},
    std::pair<std::string_view, std::uint64_t>{"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    std::pair<std::string_view, std::uint64_t>{"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40},
};

constexpr std::array kIoClasses = {
    std::pair<std::string_view, IoPriorityClass>{"IOPRIO_CLASS_RT", IoPriorityClass::kRealtime},
    std::pair<std::string_view, IoPriorityClass>{"IOPRIO_CLASS_BE", IoPriorityClass::kBestEffort},
    std::pair<std::string_view, IoPriorityClass>{"IOPRIO_CLASS_IDLE", IoPriorityClass::kIdle},
};

// Bounds on lists nobody needs long: each entry costs a syscall or a node in /dev.
constexpr std::size_t kMaxFlags = 32;
constexpr std::size_t kMaxDeviceNodes = 256;
constexpr std::size_t kMaxDevicePath = 4096;
// The kernel's dev_t carries 12 bits of major and 20 of minor.
constexpr std::int64_t kMaxMajor = 0xfff, kMaxMinor = 0xfffff;

template <typename Table>
auto lookup(const Table& table, std::string_view name) -> std::optional<decltype(table[0].second)> {
  for (const auto& [n, value] : table) {
    if (n == name) return value;
  }
  return std::nullopt;
}

std::vector<std::string> bounded_strings(JsonReader& r, std::string_view key) {
  auto list = r.optional_string_array(key).value_or(std::vector<std::string>{});
  if (list.size() > kMaxFlags) {
    throw Error(r.path_of(key) + ": more than " + std::to_string(kMaxFlags) + " entries");
  }
  return list;
}

// "/dev//fuse/./x" -> "/dev/fuse/x"; a ".." or a path outside /dev is refused: every node the
// container gets lives on its /dev, whose mount is the only one the agent makes nodes on.
std::string device_path(JsonReader& r) {
  std::string raw = r.string("path");
  std::string field = r.path_of("path");
  if (raw.size() > kMaxDevicePath) throw Error(field + ": longer than 4096 bytes");
  if (raw.empty() || raw.front() != '/') throw Error(field + ": must be an absolute path");
  std::string out;
  std::size_t parts = 0;
  std::size_t start = 0;
  while (start <= raw.size()) {
    std::size_t end = raw.find('/', start);
    if (end == std::string::npos) end = raw.size();
    std::string_view part(raw.data() + start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") throw Error(field + ": \"" + raw + "\" must not contain \"..\"");
    if (parts == 0 && part != "dev") throw Error(field + ": \"" + raw + "\" is not under /dev");
    out += "/";
    out += part;
    ++parts;
  }
  if (parts < 2) throw Error(field + ": \"" + raw + "\" is not under /dev");
  return out;
}

DeviceNodeSpec parse_device_node(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  DeviceNodeSpec node;
  node.path = device_path(r);
  std::string type = r.string("type");
  mode_t type_bits = S_IFCHR;
  if (type == "c" || type == "u") {  // "u": unbuffered character device, a char node for mknod
    node.type = DeviceNodeType::kChar;
  } else if (type == "b") {
    node.type = DeviceNodeType::kBlock;
    type_bits = S_IFBLK;
  } else if (type == "p") {
    node.type = DeviceNodeType::kFifo;
    type_bits = S_IFIFO;
  } else {
    throw Error(r.path_of("type") + ": unknown device type \"" + type + "\" (c, b, u or p)");
  }
  if (node.type == DeviceNodeType::kFifo) {
    // A FIFO has no numbers; the spec lets them be left out, the kernel ignores them.
    r.optional_integer("major", 0, kMaxMajor);
    r.optional_integer("minor", 0, kMaxMinor);
  } else {
    node.major = static_cast<std::uint32_t>(r.integer("major", 0, kMaxMajor));
    node.minor = static_cast<std::uint32_t>(r.integer("minor", 0, kMaxMinor));
  }
  if (auto mode = r.optional_unsigned("fileMode", UINT32_MAX)) {
    // Some engines send the type bits as well (S_IFCHR | 0666); they must agree with "type".
    auto bits = static_cast<mode_t>(*mode);
    if ((bits & S_IFMT) != 0 && (bits & S_IFMT) != type_bits) {
      throw Error(r.path_of("fileMode") + ": its file type bits do not match type \"" + type +
                  "\"");
    }
    if ((*mode & ~static_cast<std::uint64_t>(S_IFMT)) > 07777) {
      throw Error(r.path_of("fileMode") + ": expected permission bits (at most 07777)");
    }
    node.file_mode = static_cast<std::uint32_t>(bits & 07777);
  }
  node.uid = static_cast<std::uint32_t>(r.optional_unsigned("uid", UINT32_MAX).value_or(0));
  node.gid = static_cast<std::uint32_t>(r.optional_unsigned("gid", UINT32_MAX).value_or(0));
  ignore_unknown(r);
  return node;
}

}  // namespace

SchedulerSpec parse_scheduler(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  SchedulerSpec s;
  s.policy_name = r.string("policy");
  if (s.policy_name == "SCHED_ISO") {
    throw Error(r.path_of("policy") + ": SCHED_ISO is not implemented by Linux");
  }
  auto policy = lookup(kPolicies, s.policy_name);
  if (!policy) throw Error(r.path_of("policy") + ": unknown policy \"" + s.policy_name + "\"");
  s.policy = *policy;
  s.nice = static_cast<int>(r.optional_integer("nice", -20, 19).value_or(0));
  bool realtime = s.policy == kSchedFifo || s.policy == kSchedRr;
  if (auto priority = r.optional_integer("priority", 0, 99)) {
    if (*priority != 0 && !realtime) {
      throw Error(r.path_of("priority") + ": only SCHED_FIFO and SCHED_RR take a priority");
    }
    s.priority = static_cast<std::uint32_t>(*priority);
  }
  if (realtime && s.priority == 0) {
    throw Error(r.path_of("priority") + ": " + s.policy_name + " needs a priority in [1, 99]");
  }
  s.runtime = r.optional_unsigned("runtime").value_or(0);
  s.deadline = r.optional_unsigned("deadline").value_or(0);
  s.period = r.optional_unsigned("period").value_or(0);
  bool deadline_policy = s.policy == kSchedDeadline;
  if (!deadline_policy && (s.runtime != 0 || s.deadline != 0 || s.period != 0)) {
    throw Error(r.path() + ": runtime, deadline and period are for SCHED_DEADLINE only");
  }
  // sched_setattr's own rule for SCHED_DEADLINE: runtime <= deadline <= period (0: = deadline).
  if (deadline_policy &&
      (s.runtime == 0 || s.deadline < s.runtime || (s.period != 0 && s.period < s.deadline))) {
    throw Error(r.path() + ": SCHED_DEADLINE needs 0 < runtime <= deadline <= period");
  }
  auto flags = bounded_strings(r, "flags");
  for (std::size_t i = 0; i < flags.size(); ++i) {
    auto flag = lookup(kSchedFlags, flags[i]);
    if (!flag) {
      throw Error(element_path(r.path_of("flags"), i) + ": unknown flag \"" + flags[i] + "\"");
    }
    s.flags |= *flag;
  }
  ignore_unknown(r);
  return s;
}

IoPrioritySpec parse_io_priority(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  IoPrioritySpec io;
  std::string name = r.string("class");
  auto io_class = lookup(kIoClasses, name);
  if (!io_class) throw Error(r.path_of("class") + ": unknown class \"" + name + "\"");
  io.io_class = *io_class;
  io.priority = static_cast<int>(r.integer("priority", 0, 7));
  ignore_unknown(r);
  return io;
}

unsigned long parse_personality(const nlohmann::json& json, const std::string& path) {
  JsonReader r(json, path);
  std::string domain = r.string("domain");
  unsigned long value = 0;
  if (domain == "LINUX") {
    value = PER_LINUX;
  } else if (domain == "LINUX32") {
    value = PER_LINUX32;
  } else {
    throw Error(r.path_of("domain") + ": unknown domain \"" + domain + "\" (LINUX or LINUX32)");
  }
  auto flags = bounded_strings(r, "flags");
  if (!flags.empty()) {
    // The spec defines no flag names; runc ignores them the same way.
    spdlog::warn("{}: no personality flags are defined, {} ignored", r.path_of("flags"),
                 flags.size());
  }
  ignore_unknown(r);
  return value;
}

std::vector<TimeOffsetSpec> parse_time_offsets(const nlohmann::json& json,
                                               const std::string& path) {
  JsonReader r(json, path);
  std::vector<TimeOffsetSpec> out;
  // The only clocks a time namespace offsets (timens_offsets in proc(5)).
  for (const char* clock : {"monotonic", "boottime"}) {
    const auto* entry = r.optional_object(clock);
    if (entry == nullptr) continue;
    JsonReader o(*entry, r.path_of(clock));
    TimeOffsetSpec offset;
    offset.clock = clock;
    offset.seconds = o.optional_integer("secs", INT64_MIN, INT64_MAX).value_or(0);
    offset.nanoseconds =
        static_cast<std::uint32_t>(o.optional_unsigned("nanosecs", 999999999).value_or(0));
    ignore_unknown(o);
    out.push_back(offset);
  }
  for (const auto& key : r.unknown_keys()) {
    throw Error(key + ": unknown clock (monotonic or boottime)");
  }
  return out;
}

std::vector<DeviceNodeSpec> parse_device_nodes(const nlohmann::json& json,
                                               const std::string& path) {
  if (!json.is_array()) throw Error(path + ": expected an array");
  if (json.size() > kMaxDeviceNodes) {
    throw Error(path + ": more than " + std::to_string(kMaxDeviceNodes) + " devices");
  }
  std::vector<DeviceNodeSpec> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < json.size(); ++i) {
    std::string element = element_path(path, i);
    out.push_back(parse_device_node(json[i], element));
    if (!seen.insert(out.back().path).second) {
      throw Error(element + ".path: " + out.back().path + " is listed twice");
    }
  }
  return out;
}

}  // namespace kvrun::spec
