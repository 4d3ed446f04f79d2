#include "agent/container/overlay_rootfs.h"

#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace kvrun::agent {
namespace {

void make_dir(const std::filesystem::path& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir " + path.string());
}

}  // namespace

OverlayRootfs OverlayRootfs::mount(const std::filesystem::path& state_dir,
                                   const std::string& container_id, const std::string& lower) {
  // Overlay options are comma-separated and lowerdir is colon-separated: such a path would
  // inject options.
  if (lower.find_first_of(",:\\") != std::string::npos) {
    throw Error("rootfs " + lower + ": an overlay's lower layer cannot contain ',', ':' or '\\'");
  }
  std::filesystem::create_directories(state_dir);
  std::filesystem::path scratch = state_dir / container_id;
  if (::mkdir(scratch.c_str(), 0700) != 0) throw_errno("mkdir " + scratch.string());
  if (::mount("tmpfs", scratch.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0) {
    int err = errno;
    ::rmdir(scratch.c_str());
    throw_errno("mount scratch tmpfs on " + scratch.string(), err);
  }
  OverlayRootfs overlay(scratch);  // from here the destructor cleans up
  for (const char* sub : {"upper", "work", "rootfs"}) make_dir(scratch / sub);
  std::string options = "lowerdir=" + lower + ",upperdir=" + (scratch / "upper").string() +
                        ",workdir=" + (scratch / "work").string();
  // nodev: the image's device nodes (kept by its erofs, shown by the overlay whatever the
  // lower mount's flags) and any a container makes in its root must never open a guest device.
  // /dev is a mount of its own (mounts.cpp), so this takes nothing a container needs.
  if (::mount("overlay", overlay.path().c_str(), "overlay", MS_NODEV, options.c_str()) != 0) {
    throw_errno("mount overlay on " + overlay.path() + " (" + options + ")");
  }
  return overlay;
}

OverlayRootfs::~OverlayRootfs() {
  if (scratch_.empty()) return;
  std::string rootfs = path();
  if (::umount2(rootfs.c_str(), MNT_DETACH) != 0 && errno != EINVAL) {
    spdlog::warn("unmount {}: {}", rootfs, std::strerror(errno));
  }
  if (::umount2(scratch_.c_str(), MNT_DETACH) != 0) {
    spdlog::warn("unmount {}: {}", scratch_.string(), std::strerror(errno));
  }
  if (::rmdir(scratch_.c_str()) != 0) {
    spdlog::warn("remove {}: {}", scratch_.string(), std::strerror(errno));
  }
}

}  // namespace kvrun::agent
