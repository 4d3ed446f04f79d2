#include "shim/host_cgroup/cgroups_path.h"

#include <cstdint>
#include <cstdio>
#include <vector>

#include "common/error.h"

namespace kvrun::host_cgroup {
namespace {

constexpr std::size_t kMaxComponent = 255;  // NAME_MAX: mkdir refuses longer names anyway
constexpr std::string_view kSlice = ".slice";

[[noreturn]] void refuse(const std::string& problem) {
  throw Error("linux.cgroupsPath: " + problem);
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

// One directory name: what mkdir in a cgroupfs would take, minus "." and "..", which would
// name another cgroup than the one the spec spells.
void check_component(std::string_view name, std::string_view what) {
  if (name == "." || name == "..")
    refuse(std::string(what) + " \"" + std::string(name) + "\" is not allowed");
  if (name.size() > kMaxComponent)
    refuse(std::string(what) + " longer than " + std::to_string(kMaxComponent) + " bytes");
  if (name.find('/') != std::string_view::npos)
    refuse(std::string(what) + " \"" + std::string(name) + "\" contains '/'");
}

// systemd's unit-name nesting: "a-b.slice" is /a.slice/a-b.slice; "-.slice" is the root.
std::string expand_slice(std::string_view slice) {
  if (slice.empty()) slice = "system.slice";  // where systemd's driver puts units by default
  if (!ends_with(slice, kSlice) || slice.size() == kSlice.size())
    refuse("slice \"" + std::string(slice) + "\" does not end in .slice");
  check_component(slice, "slice");
  std::string_view stem = slice.substr(0, slice.size() - kSlice.size());
  if (stem == "-") return "";
  std::string path, prefix;
  for (std::string_view part : split(stem, '-')) {
    if (part.empty()) refuse("slice \"" + std::string(slice) + "\" has an empty '-' component");
    path += "/" + prefix + std::string(part) + std::string(kSlice);
    prefix += std::string(part) + "-";
  }
  return path;
}

CgroupPath parse_systemd(std::string_view text) {
  auto parts = split(text, ':');
  if (parts.size() != 3)
    refuse("\"" + std::string(text) + "\" is neither a path nor systemd's slice:prefix:name");
  std::string_view prefix = parts[1], name = parts[2];
  if (name.empty()) refuse("systemd form with an empty name");
  std::string unit = ends_with(name, kSlice) ? std::string(name)
                                             : (prefix.empty() ? "" : std::string(prefix) + "-") +
                                                   std::string(name) + ".scope";
  check_component(unit, "unit name");
  std::string path = expand_slice(parts[0]) + "/" + unit;
  return CgroupPath{true, path.substr(1)};
}

CgroupPath parse_cgroupfs(std::string_view text) {
  CgroupPath result;
  result.absolute = text.front() == '/';
  for (std::string_view part : split(text, '/')) {
    if (part.empty() || part == ".") continue;  // "a//b", "./a": the same directory
    check_component(part, "component");
    if (!result.path.empty()) result.path += '/';
    result.path += part;
  }
  if (result.path.empty())
    refuse("\"" + std::string(text) + "\" names " +
           (result.absolute ? "the hierarchy's root" : "kvrun's own cgroup") +
           ", which a container cannot own");
  return result;
}

}  // namespace

CgroupPath parse_cgroups_path(std::string_view cgroups_path, std::string_view default_leaf) {
  if (cgroups_path.empty()) return parse_cgroupfs(default_leaf);
  if (cgroups_path.size() > kMaxCgroupsPath)
    refuse("longer than " + std::to_string(kMaxCgroupsPath) + " bytes");
  for (char c : cgroups_path) {
    auto byte = static_cast<unsigned char>(c);
    // NUL would cut the path short at mkdir; a newline would forge lines of /proc/<pid>/cgroup.
    if (byte < 0x20 || byte == 0x7f) refuse("contains a control character");
  }
  if (cgroups_path.find(':') != std::string_view::npos) return parse_systemd(cgroups_path);
  return parse_cgroupfs(cgroups_path);
}

std::string default_leaf(std::string_view state_root, std::string_view id) {
  std::uint32_t hash = 2166136261u;  // FNV-1a: stable across runs and builds
  for (char c : state_root) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 16777619u;
  }
  char tag[9];
  std::snprintf(tag, sizeof tag, "%08x", hash);
  return "kvrun-" + std::string(tag) + "/" + std::string(id);
}

}  // namespace kvrun::host_cgroup
