#include "shim/host_cgroup/hierarchy.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/error.h"

namespace kvrun::host_cgroup {
namespace {

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  for (;;) {
    auto at = text.find(separator);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape(std::string_view field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() &&
        std::all_of(field.begin() + static_cast<long>(i) + 1,
                    field.begin() + static_cast<long>(i) + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                               (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

struct CgroupMount {
  bool unified = false;
  std::vector<std::string> options;  // super options: rw, cpu, cpuacct, name=systemd, ...
  std::string root;                  // the cgroup at the mount point, "/..."
  std::filesystem::path point;
};

std::vector<CgroupMount> cgroup_mounts(std::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  std::istringstream lines{std::string(mountinfo)};
  for (std::string line; std::getline(lines, line);) {
    auto fields = split(line, ' ');
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (dash == fields.end() || dash - fields.begin() < 6 || fields.end() - dash < 4) continue;
    const std::string& type = *(dash + 1);
    if (type != "cgroup" && type != "cgroup2") continue;
    mounts.push_back(
        {type == "cgroup2", split(*(dash + 3), ','), unescape(fields[3]), unescape(fields[4])});
  }
  return mounts;
}

// "/a/b" relative to mount root "/a" -> "b"; false if the cgroup is outside the mount.
bool relative_to(const std::string& cgroup, const std::string& root, std::string& out) {
  std::string base = root == "/" ? "" : root;
  if (cgroup.compare(0, base.size(), base) != 0) return false;
  std::string rest = cgroup.substr(base.size());
  if (!rest.empty() && rest[0] != '/') return false;
  out = rest.empty() ? "" : rest.substr(1);
  return true;
}

}  // namespace

bool Hierarchy::has(std::string_view controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

std::string Hierarchy::name() const {
  if (unified) return "unified";
  std::string out;
  for (const auto& c : controllers) out += (out.empty() ? "" : ",") + c;
  return out;
}

std::vector<Hierarchy> parse_hierarchies(std::string_view mountinfo, std::string_view proc_cgroup) {
  auto mounts = cgroup_mounts(mountinfo);
  std::vector<Hierarchy> found;
  std::istringstream lines{std::string(proc_cgroup)};
  for (std::string line; std::getline(lines, line);) {
    // "<id>:<controllers>:<path>"; the path may itself contain ':'.
    auto first = line.find(':');
    auto second = first == std::string::npos ? first : line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string list = line.substr(first + 1, second - first - 1);
    std::string cgroup = line.substr(second + 1);
    if (cgroup.empty() || cgroup[0] != '/') continue;
    bool unified = list.empty();
    std::vector<std::string> controllers = unified ? std::vector<std::string>{} : split(list, ',');
    for (const auto& mount : mounts) {
      if (mount.unified != unified) continue;
      bool matches = std::all_of(controllers.begin(), controllers.end(), [&](const auto& c) {
        return std::find(mount.options.begin(), mount.options.end(), c) != mount.options.end();
      });
      std::string own;
      if (!matches || !relative_to(cgroup, mount.root, own)) continue;
      found.push_back({unified, controllers, mount.point, own});
      break;
    }
  }
  return found;
}

std::vector<Hierarchy> host_hierarchies() {
  auto read = [](const char* path) {
    std::ifstream in(path);
    if (!in) throw Error(std::string("read ") + path + ": cannot open");
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  };
  return parse_hierarchies(read("/proc/self/mountinfo"), read("/proc/self/cgroup"));
}

std::filesystem::path directory_for(const Hierarchy& hierarchy, const CgroupPath& path) {
  std::filesystem::path base = hierarchy.mount;
  if (!path.absolute) {
    std::filesystem::path own(hierarchy.own);
    if (hierarchy.unified) own = own.parent_path();
    if (!own.empty()) base /= own;
  }
  return base / path.path;
}

}  // namespace kvrun::host_cgroup
