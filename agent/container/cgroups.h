// Cgroups stage (v2 only): one cgroup per container at <root>/kvrun/<container-id>, with the
// controllers its resources need enabled on the way down and the limits written before the
// container's init runs.
//
// The root is configurable because the agent also runs as a plain host process for tests, where
// the cgroup2 mount may have no controllers (hybrid v1 hosts). Mode kBestEffort (host) then
// makes a cgroup without limits (it still freezes and counts CPU time) and warns; kRequired
// (guest, PID 1) makes it an error.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/container/device_filter.h"
#include "spec/spec.h"

namespace kvrun::agent {

enum class CgroupMode { kRequired, kBestEffort };

struct CgroupConfig {
  std::filesystem::path root = "/sys/fs/cgroup";
  CgroupMode mode = CgroupMode::kRequired;
  // The device filter (device_filter.h) on every cgroup. Off only for unit tests' fake
  // hierarchies, which are plain directories.
  bool device_filter = true;
};

// Controllers whose files cgroup_settings() writes.
std::vector<std::string> required_controllers(const spec::ResourcesSpec& resources);
// (file name, value) pairs in the order they are written, e.g. {"memory.max", "104857600"};
// linux.resources.unified is not among them: it is written after them, to existing files only.
std::vector<std::pair<std::string, std::string>> cgroup_settings(
    const spec::ResourcesSpec& resources);

// Owns the container's cgroup directory: removed on destruction (once its processes are gone).
class Cgroup {
 public:
  // nullopt when skipped in kBestEffort mode (a warning is logged).
  static std::optional<Cgroup> create(const CgroupConfig& config, std::string_view container_id,
                                      const spec::ResourcesSpec& resources);

  Cgroup(Cgroup&& other) noexcept
      : path_(std::exchange(other.path_, {})), devices_(std::exchange(other.devices_, {})) {}
  Cgroup& operator=(Cgroup&& other) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;
  ~Cgroup();

  const std::filesystem::path& path() const { return path_; }
  void add_process(pid_t pid) const;
  // Members (cgroup.procs), sorted; zombies are not members any more.
  std::vector<pid_t> processes() const;
  // SIGKILLs every member: cgroup.kill where the kernel has it (5.14+; it also catches
  // processes forking meanwhile), else each pid of cgroup.procs.
  void kill() const;
  // Freezes (or thaws) every process in it and waits until that has happened (cgroup.freeze).
  void freeze(bool frozen) const;
  // Writes new limits (those `resources` has; the others stay), enabling a controller the
  // container did not need before; new device rules replace the filter in one step.
  // Validates everything before writing any limit (the controllers it needs are enabled
  // first: a unified file of a newly enabled controller exists only then).
  void update(const spec::ResourcesSpec& resources) const;
  // The attached device filter; null when there is none (kBestEffort on a host without
  // BPF_CGROUP_DEVICE, or a config without filters).
  const DeviceFilter* device_filter() const { return devices_ ? &*devices_ : nullptr; }

 private:
  explicit Cgroup(std::filesystem::path path) : path_(std::move(path)) {}
  void attach_device_filter(const CgroupConfig& config, std::string_view container_id,
                            const spec::ResourcesSpec& resources);
  void remove();

  std::filesystem::path path_;
  // Attached before any process joins, detached before the directory is removed. Mutable:
  // update() swaps the program, which changes no other state of the cgroup.
  mutable std::optional<DeviceFilter> devices_;
};

}  // namespace kvrun::agent
