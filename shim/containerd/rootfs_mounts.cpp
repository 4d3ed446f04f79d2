#include "shim/containerd/rootfs_mounts.h"

#include <spdlog/spdlog.h>
#include <sys/mount.h>

#include <map>

#include "common/error.h"

namespace kvrun::containerd {
namespace fs = std::filesystem;

MountFlags parse_mount_options(const std::vector<std::string>& options) {
  struct Flag {
    bool clear;
    unsigned long bits;
  };
  static const std::map<std::string, Flag> flags = {
      {"ro", {false, MS_RDONLY}},        {"rw", {true, MS_RDONLY}},
      {"nosuid", {false, MS_NOSUID}},    {"suid", {true, MS_NOSUID}},
      {"nodev", {false, MS_NODEV}},      {"dev", {true, MS_NODEV}},
      {"noexec", {false, MS_NOEXEC}},    {"exec", {true, MS_NOEXEC}},
      {"noatime", {false, MS_NOATIME}},  {"relatime", {false, MS_RELATIME}},
      {"sync", {false, MS_SYNCHRONOUS}}, {"async", {true, MS_SYNCHRONOUS}},
      {"bind", {false, MS_BIND}},        {"rbind", {false, MS_BIND | MS_REC}},
      {"defaults", {false, 0}},
  };
  MountFlags result;
  for (const auto& option : options) {
    if (option.empty()) throw Error("rootfs mount: empty option");
    if (auto it = flags.find(option); it != flags.end()) {
      if (it->second.clear) {
        result.flags &= ~it->second.bits;
      } else {
        result.flags |= it->second.bits;
      }
      if (option == "rbind") result.recursive_bind = true;
      continue;
    }
    if (option == "shared" || option == "rshared" || option == "private" || option == "rprivate" ||
        option == "slave" || option == "rslave") {
      throw Error("rootfs mount: propagation option '" + option + "' is not supported");
    }
    if (!result.data.empty()) result.data += ',';
    result.data += option;
  }
  return result;
}

std::size_t mount_rootfs(const std::vector<MountSpec>& mounts, const fs::path& target) {
  std::error_code ec;
  fs::create_directories(target, ec);
  if (ec) throw Error("rootfs: create " + target.string() + ": " + ec.message());
  std::size_t done = 0;
  try {
    for (const auto& spec : mounts) {
      MountFlags parsed = parse_mount_options(spec.options);
      bool bind = spec.type == "bind" || (parsed.flags & MS_BIND) != 0;
      unsigned long flags = parsed.flags | (bind ? MS_BIND : 0);
      const char* type = bind ? nullptr : spec.type.c_str();
      if (::mount(spec.source.c_str(), target.c_str(), type, bind ? flags & ~MS_RDONLY : flags,
                  parsed.data.empty() ? nullptr : parsed.data.c_str()) < 0) {
        throw_errno("rootfs: mount " + spec.type + " " + spec.source + " on " + target.string());
      }
      ++done;
      // A bind mount ignores MS_RDONLY until remounted.
      if (bind && (flags & MS_RDONLY) != 0 &&
          ::mount(nullptr, target.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) <
              0) {
        throw_errno("rootfs: remount " + target.string() + " read-only");
      }
    }
  } catch (...) {
    unmount_rootfs(target);
    throw;
  }
  return done;
}

void unmount_rootfs(const fs::path& target) {
  // Stacked mounts (several specs, or a retried create) come off one by one.
  for (int i = 0; i < 16; ++i) {
    if (::umount2(target.c_str(), UMOUNT_NOFOLLOW) == 0) continue;
    if (errno == EBUSY && ::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) continue;
    if (errno != EINVAL && errno != ENOENT) {
      spdlog::warn("rootfs: unmount {}: {}", target.string(), std::strerror(errno));
    }
    return;
  }
}

}  // namespace kvrun::containerd
