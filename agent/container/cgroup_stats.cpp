#include "agent/container/cgroup_stats.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <string>

namespace kvrun::agent {
namespace {

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A single-value file: a number, or "max" (nullopt, like a missing file).
std::optional<std::uint64_t> read_single_value(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string word;
  if (!(in >> word)) return std::nullopt;
  return parse_number(word);
}

nlohmann::json optional_json(const std::optional<std::uint64_t>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

std::optional<std::uint64_t> read_keyed_value(const std::filesystem::path& file,
                                              std::string_view key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name, value;
    if (words >> name >> value && name == key) return parse_number(value);
  }
  return std::nullopt;
}

CgroupStats read_cgroup_stats(const std::filesystem::path& cgroup) {
  CgroupStats s;
  s.memory_current = read_single_value(cgroup / "memory.current");
  s.memory_max = read_single_value(cgroup / "memory.max");
  s.memory_oom = read_keyed_value(cgroup / "memory.events", "oom");
  s.memory_oom_kill = read_keyed_value(cgroup / "memory.events", "oom_kill");
  s.cpu_usage_usec = read_keyed_value(cgroup / "cpu.stat", "usage_usec");
  s.cpu_user_usec = read_keyed_value(cgroup / "cpu.stat", "user_usec");
  s.cpu_system_usec = read_keyed_value(cgroup / "cpu.stat", "system_usec");
  s.pids_current = read_single_value(cgroup / "pids.current");
  s.pids_max = read_single_value(cgroup / "pids.max");
  return s;
}

nlohmann::json to_json(const CgroupStats& s) {
  return {
      {"memory",
       {{"current", optional_json(s.memory_current)},
        {"max", optional_json(s.memory_max)},
        {"oom", optional_json(s.memory_oom)},
        {"oom_kill", optional_json(s.memory_oom_kill)}}},
      {"cpu",
       {{"usage_usec", optional_json(s.cpu_usage_usec)},
        {"user_usec", optional_json(s.cpu_user_usec)},
        {"system_usec", optional_json(s.cpu_system_usec)}}},
      {"pids", {{"current", optional_json(s.pids_current)}, {"max", optional_json(s.pids_max)}}}};
}

}  // namespace kvrun::agent
