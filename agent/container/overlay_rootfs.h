// A container's writable root over a read-only one (CreateContainer "overlay": true): a tmpfs
// of its own at <state dir>/<container id> holds the overlay's upper and work directories, and
// the overlay is mounted at <state dir>/<container id>/rootfs with the given rootfs as its lower
// layer. The rootfs itself is never written; everything is unmounted with the container.
#pragma once

#include <filesystem>
#include <string>
#include <utility>

namespace kvrun::agent {

class OverlayRootfs {
 public:
  // Throws Error naming the step that failed; nothing stays mounted then.
  static OverlayRootfs mount(const std::filesystem::path& state_dir,
                             const std::string& container_id, const std::string& lower);

  OverlayRootfs(OverlayRootfs&& other) noexcept : scratch_(std::exchange(other.scratch_, {})) {}
  OverlayRootfs& operator=(OverlayRootfs&&) = delete;
  OverlayRootfs(const OverlayRootfs&) = delete;
  OverlayRootfs& operator=(const OverlayRootfs&) = delete;
  // Unmounts (lazily: a process that still holds a file does not block it) and removes it.
  ~OverlayRootfs();

  std::string path() const { return (scratch_ / "rootfs").string(); }

 private:
  explicit OverlayRootfs(std::filesystem::path scratch) : scratch_(std::move(scratch)) {}
  std::filesystem::path scratch_;
};

}  // namespace kvrun::agent
