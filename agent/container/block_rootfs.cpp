#include "agent/container/block_rootfs.h"

#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>

#include "common/error.h"

namespace kvrun::agent {

namespace {

// How long a disk attached to the running VM (a pod's later container, vmm/control/) may take
// to show its capacity: it arrives with a config-change interrupt, possibly after the request
// that names the disk.
constexpr auto kMediaWait = std::chrono::seconds(10);

std::uint64_t sectors_of(const std::string& device) {
  struct stat st {};
  if (::stat(device.c_str(), &st) != 0 || !S_ISBLK(st.st_mode)) return 0;
  std::ifstream size("/sys/dev/block/" + std::to_string(major(st.st_rdev)) + ":" +
                     std::to_string(minor(st.st_rdev)) + "/size");
  std::uint64_t sectors = 0;
  size >> sectors;
  return sectors;
}

void wait_for_media(const std::string& device) {
  auto deadline = std::chrono::steady_clock::now() + kMediaWait;
  while (sectors_of(device) == 0) {
    if (std::chrono::steady_clock::now() >= deadline)
      throw Error("rootfs " + device + ": the disk is empty (no media within 10 s)");
    ::usleep(20000);
  }
}

}  // namespace

bool is_block_device(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISBLK(st.st_mode);
}

BlockRootfs BlockRootfs::mount(const std::filesystem::path& state_dir,
                               const std::string& container_id, const std::string& device) {
  wait_for_media(device);
  std::filesystem::path parent = state_dir / ".lower";
  std::filesystem::create_directories(parent);
  std::string target = (parent / container_id).string();
  if (::mkdir(target.c_str(), 0755) != 0) throw_errno("mkdir " + target);
  // The host builds an erofs image; ext4 is for images made by other tools. Read-only either
  // way: one image may back several containers, and writes belong in the overlay.
  std::string failures;
  for (const char* type : {"erofs", "ext4"}) {
    if (::mount(device.c_str(), target.c_str(), type, MS_RDONLY | MS_NODEV | MS_NOSUID, nullptr) ==
        0) {
      spdlog::info("rootfs {}: mounted {} at {}", device, type, target);
      return BlockRootfs(target);
    }
    failures += std::string(failures.empty() ? "" : ", ") + type + ": " + std::strerror(errno);
  }
  ::rmdir(target.c_str());
  throw Error("rootfs " + device + ": cannot mount read-only (" + failures + ")");
}

BlockRootfs::~BlockRootfs() {
  if (path_.empty()) return;
  if (::umount2(path_.c_str(), MNT_DETACH) != 0) {
    spdlog::warn("unmount {}: {}", path_, std::strerror(errno));
  }
  if (::rmdir(path_.c_str()) != 0) spdlog::warn("remove {}: {}", path_, std::strerror(errno));
}

}  // namespace kvrun::agent
