// The state root (--root, default /run/kvrun): one directory per container holding state.json,
// the monitor's control files and sockets. A container directory is locked with flock(2) on
// the directory itself while a command reads-modifies-writes its state, so two CLI calls (or
// the CLI and the monitor) never interleave.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "shim/state/container_state.h"

namespace kvrun::state {

inline constexpr const char* kDefaultRoot = "/run/kvrun";

// Held while alive; released on destruction.
class ContainerLock {
 public:
  explicit ContainerLock(const std::filesystem::path& dir);  // blocks; throws Error
  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
};

class StateDir {
 public:
  // Creates the root (mode 0700) if missing.
  explicit StateDir(std::filesystem::path root);

  const std::filesystem::path& root() const { return root_; }
  // Throws Error for ids that are not safe path components.
  std::filesystem::path container_dir(const std::string& id) const;
  bool exists(const std::string& id) const;
  // Creates the directory; throws Error("container with id X already exists") if it exists.
  std::filesystem::path create(const std::string& id) const;
  // Throws Error("container does not exist") — runc's words, which podman and containerd match.
  std::filesystem::path open(const std::string& id) const;
  // Sorted ids of every container directory.
  std::vector<std::string> list() const;
  // Removes the container's directory and everything in it.
  void remove(const std::string& id) const;

 private:
  std::filesystem::path root_;
};

// Atomic: written to a temporary file in the same directory, fsynced, renamed over state.json.
void save_state(const std::filesystem::path& dir, const ContainerState& state);
// Replaces <dir>/<name> with text (0600) in one step: a temporary file, fsync, rename, so a
// reader never sees half a file. Throws Error naming the file.
void write_state_file(const std::filesystem::path& dir, const std::string& name,
                      const std::string& text);
// Throws Error if state.json is missing or damaged.
ContainerState load_state(const std::filesystem::path& dir);
// Like load_state, then marks the container stopped when its monitor is gone (killed, crashed,
// machine rebooted): the state file cannot be trusted past its writer's death.
ContainerState load_current_state(const std::filesystem::path& dir);

}  // namespace kvrun::state
