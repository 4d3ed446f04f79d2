#include "agent/container/device_nodes.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "agent/container/mounts.h"
#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent {
namespace {

mode_t type_bits(spec::DeviceNodeType type) {
  switch (type) {
    case spec::DeviceNodeType::kChar:
      return S_IFCHR;
    case spec::DeviceNodeType::kBlock:
      return S_IFBLK;
    case spec::DeviceNodeType::kFifo:
      return S_IFIFO;
  }
  return 0;
}

// The directories between dev and the node; resolve_in_root already kept them inside.
void make_parents(const std::string& dev, const std::string& target) {
  std::size_t at = dev.size();
  for (;;) {
    std::size_t slash = target.find('/', at + 1);
    if (slash == std::string::npos) return;
    std::string dir = target.substr(0, slash);
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir " + dir);
    at = slash;
  }
}

// Whatever the image or an earlier step left at the node's path goes, as runc replaces it.
void clear_target(const std::string& target) {
  struct stat st;
  if (::lstat(target.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw_errno("lstat " + target);
  }
  if (S_ISDIR(st.st_mode)) throw Error(target + " is a directory");
  if (::unlink(target.c_str()) != 0) throw_errno("unlink " + target);
}

void make_node(const spec::DeviceNodeSpec& node, const std::string& target) {
  mode_t mode = type_bits(node.type) | static_cast<mode_t>(node.file_mode);
  if (::mknod(target.c_str(), mode, makedev(node.major, node.minor)) != 0) {
    throw_errno("mknod");
  }
  // mknod's mode went through the umask; the spec's is exact.
  if (::fchmodat(AT_FDCWD, target.c_str(), node.file_mode, 0) != 0) throw_errno("chmod");
  if (::fchownat(AT_FDCWD, target.c_str(), node.uid, node.gid, AT_SYMLINK_NOFOLLOW) != 0) {
    throw_errno("chown " + std::to_string(node.uid) + ":" + std::to_string(node.gid));
  }
  if (node.type == spec::DeviceNodeType::kFifo) return;
  // A mount of its own, without nodev: sealing /dev later changes only /dev's mount.
  if (::mount(target.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    throw_errno("bind the node onto itself");
  }
  if (::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NOEXEC,
              nullptr) != 0) {
    throw_errno("remount the node without nodev");
  }
}

void bind_node(const spec::DeviceNodeSpec& node, const std::string& target) {
  // lstat: the agent's /dev has symlinks into /proc (stdin, fd) that must not be followed.
  struct stat st;
  if (::lstat(node.path.c_str(), &st) != 0) throw_errno("lstat the agent's " + node.path);
  if ((st.st_mode & S_IFMT) != type_bits(node.type) || major(st.st_rdev) != node.major ||
      minor(st.st_rdev) != node.minor) {
    throw Error("in a user namespace nodes are bound from the agent's /dev, where " + node.path +
                " is not device " + std::to_string(node.major) + ":" + std::to_string(node.minor) +
                " of this type");
  }
  UniqueFd fd(::open(target.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
  if (!fd) throw_errno("create the mount point");
  if (::mount(node.path.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    throw_errno("bind the agent's node");
  }
}

}  // namespace

bool lists_device(const std::vector<spec::DeviceNodeSpec>& nodes, const std::string& path) {
  for (const auto& node : nodes) {
    if (node.path == path) return true;
  }
  return false;
}

void make_device_nodes(const std::string& rootfs, const std::string& dev,
                       const std::vector<spec::DeviceNodeSpec>& nodes, bool user_namespace) {
  for (const auto& node : nodes) {
    try {
      // A symlink in the spec's /dev must not carry the node onto the image's filesystem.
      std::string target = resolve_in_root(rootfs, node.path);
      if (target.rfind(dev + "/", 0) != 0) throw Error("resolves outside the container's /dev");
      make_parents(dev, target);
      clear_target(target);
      if (user_namespace && node.type != spec::DeviceNodeType::kFifo) {
        bind_node(node, target);
      } else {
        make_node(node, target);
      }
    } catch (const Error& e) {
      throw Error("linux.devices " + node.path + ": " + e.what());
    }
  }
}

}  // namespace kvrun::agent
