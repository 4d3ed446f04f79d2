// The cgroup hierarchies mounted on this host and kvrun's own cgroup in each, from
// /proc/self/mountinfo and /proc/self/cgroup: cgroup v2 alone (/sys/fs/cgroup is cgroup2), v1
// (one hierarchy per controller or group of controllers, plus named ones such as
// name=systemd), or both (hybrid: v1 controllers and an unified hierarchy without them).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "shim/host_cgroup/cgroups_path.h"

namespace kvrun::host_cgroup {

struct Hierarchy {
  bool unified = false;                  // cgroup2
  std::vector<std::string> controllers;  // v1: "cpu", "cpuacct", "name=systemd", ...; v2: empty
  std::filesystem::path mount;           // where it is mounted
  std::string own;  // kvrun's cgroup, relative to the mount ("" at its root), no leading '/'

  bool has(std::string_view controller) const;
  std::string name() const;  // "memory", "cpu,cpuacct", "name=systemd", "unified"
};

// Pure parsing (the texts of /proc/self/mountinfo and /proc/self/cgroup), for tests. A
// hierarchy kvrun's cgroup is not visible through (its mount's root elsewhere) is left out.
std::vector<Hierarchy> parse_hierarchies(std::string_view mountinfo, std::string_view proc_cgroup);
// This process's view. Empty when no cgroup filesystem is mounted.
std::vector<Hierarchy> host_hierarchies();

// The directory `path` names in `hierarchy`: absolute from its root; relative from kvrun's own
// cgroup in v1 and from that cgroup's parent in v2, as runc does (a v2 cgroup with processes in
// it cannot give its children controllers).
std::filesystem::path directory_for(const Hierarchy& hierarchy, const CgroupPath& path);

}  // namespace kvrun::host_cgroup
