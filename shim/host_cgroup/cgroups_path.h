// The spec's linux.cgroupsPath, read as runc reads it, turned into a path inside a cgroup
// hierarchy. Three forms:
//   "/a/b"               cgroupfs, absolute: /a/b from the root of every hierarchy
//   "a/b"                cgroupfs, relative: under kvrun's own cgroup (v1) or its parent (v2)
//   "slice:prefix:name"  systemd: the path systemd's driver would create, e.g.
//                        "machine.slice:libpod:ID" -> /machine.slice/libpod-ID.scope,
//                        "a-b.slice:crio:ID" -> /a.slice/a-b.slice/crio-ID.scope
// and "" (kvrun's default: relative "kvrun-<tag>/<id>", one parent per state root). kvrun
// does not talk to systemd: it makes the cgroupfs directories the unit would have. The path
// comes from the engine's spec, so a hostile one ("..", NUL, control characters, absurd length)
// is refused with one line, never cleaned into somewhere else.
#pragma once

#include <string>
#include <string_view>

namespace kvrun::host_cgroup {

struct CgroupPath {
  bool absolute = false;  // from the hierarchy's root; else from kvrun's own cgroup
  std::string path;       // "a/b": no leading or trailing '/', no "." or "..", never empty
};

inline constexpr std::size_t kMaxCgroupsPath = 4096;

// `default_leaf` is used for an empty cgroupsPath (relative). Throws Error
// "linux.cgroupsPath: <problem>".
CgroupPath parse_cgroups_path(std::string_view cgroups_path, std::string_view default_leaf);

// "kvrun-<8 hex>/<id>": the tag is a hash of the state root, so containers of two roots that
// share an id do not share a cgroup.
std::string default_leaf(std::string_view state_root, std::string_view id);

}  // namespace kvrun::host_cgroup
