// A container's cgroup on the host: created by kvrun on every mounted hierarchy, limited
// (limits.h), joined by the container's monitor before it starts kvrun-vmm (so the VMM and every
// helper inherit it), and removed by `kvrun delete`. What kvrun created is recorded in the
// container's state directory; delete removes exactly that, never a cgroup it did not create.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "shim/host_cgroup/cgroups_path.h"
#include "shim/host_cgroup/hierarchy.h"
#include "shim/host_cgroup/limits.h"

namespace kvrun::host_cgroup {

// The record in a container's state directory.
inline constexpr const char* kRecordFile = "host-cgroups";

struct Created {
  std::filesystem::path dir;
  bool leaf = false;  // the container's own cgroup; else a parent kvrun had to make for it
};

// Owns the directories it created: removes them (killing what is left in them first) on
// destruction unless release()d.
class HostCgroup {
 public:
  // Refuses (Error) a leaf that exists already: another container's, or one kvrun did not make,
  // whose limits and processes are not kvrun's to change. Writes the record before returning.
  static HostCgroup create(const std::vector<Hierarchy>& hierarchies, const CgroupPath& path,
                           const HostLimits& limits, const std::filesystem::path& state_dir);
  HostCgroup(HostCgroup&& other) noexcept;
  HostCgroup& operator=(HostCgroup&&) = delete;
  ~HostCgroup();

  // Moves the calling process (all its threads) into the leaf on every hierarchy. Throws Error.
  void join() const;
  // Success: the cgroup outlives this object; `kvrun delete` removes it from the record.
  void release() { created_.clear(); }
  std::vector<std::filesystem::path> leaves() const;

 private:
  HostCgroup() = default;
  std::vector<Created> created_;  // in creation order: parents before children
  std::vector<std::filesystem::path> leaves_;
};

// The container's cgroup as `kvrun create` makes it: the spec's cgroupsPath (or the default
// leaf for state_root/id) on the host's hierarchies, with host_limits(config, guest memory).
// nullopt (with a warning) when no cgroup filesystem is mounted.
struct SandboxCgroupRequest {
  const nlohmann::json* config = nullptr;  // the bundle's config.json
  std::string id;
  std::string state_root;
  std::filesystem::path state_dir;
  std::optional<std::uint64_t> guest_memory_mib;  // none: a pod member without a VM
};
std::optional<HostCgroup> create_sandbox_cgroup(const SandboxCgroupRequest& request);

// `kvrun delete`: for each recorded leaf, kills what is left in it (the monitor is gone by then;
// a VMM or helper that outlived it must not), removes it (retrying while tasks drain), then the
// parents kvrun made that are empty, then the record. Logs what it cannot remove; never throws.
void remove_recorded(const std::filesystem::path& state_dir);

// Parsing of the record, for tests: "leaf <dir>" / "parent <dir>" lines.
std::vector<Created> parse_record(const std::string& text);

}  // namespace kvrun::host_cgroup
