#include "agent/container/mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <deque>

#include "agent/container/copy_up.h"
#include "agent/container/device_nodes.h"
#include "agent/container/mount_target.h"
#include "common/error.h"
#include "common/unique_fd.h"
#include "spec/mount_options.h"

namespace kvrun::agent {
namespace {

std::deque<std::string> split_path(const std::string& path) {
  std::deque<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) parts.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

void do_mount(const char* source, const std::string& target, const char* type, unsigned long flags,
              const std::string& data) {
  if (::mount(source, target.c_str(), type, flags, data.empty() ? nullptr : data.c_str()) != 0) {
    throw_errno("mount " + std::string(type ? type : "bind") + " " +
                std::string(source ? source : "none") + " on " + target);
  }
}

void mkdir_all(const std::string& path) {
  std::string current;
  for (const auto& part : split_path(path)) {
    current += "/" + part;
    if (::mkdir(current.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir " + current);
  }
}

// A bind remount must repeat the flags the kernel locked on the original mount (nosuid, nodev,
// noexec, atime) or it fails with EPERM inside user namespaces.
unsigned long locked_flags(const std::string& path) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) throw_errno("statvfs " + path);
  unsigned long flags = 0;
  if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

void remount_bind(const std::string& path, unsigned long flags) {
  do_mount(nullptr, path, nullptr, MS_BIND | MS_REMOUNT | flags | locked_flags(path), "");
}

// The destination is the image's to shape (a FIFO at /etc/hosts, a symlink to /proc/1/root):
// MountTarget opens it without following a symlink out of the rootfs and without opening the
// file itself, and the mount goes onto that descriptor.
void mount_one(const std::string& rootfs, const spec::MountSpec& m) {
  spec::MountOptions options = spec::parse_mount_options(m.options);
  auto type = MountTarget::Type::kDirectory;
  auto symlinks = MountTarget::Symlinks::kResolveInRoot;
  if (options.bind) {
    struct stat st;
    if (::stat(m.source.c_str(), &st) != 0) throw_errno("bind source " + m.source);
    if (!S_ISDIR(st.st_mode)) type = MountTarget::Type::kFile;
    MountTarget::open(rootfs, m.destination, type, symlinks, MountTarget::Missing::kCreate)
        .mount(m.source.c_str(), nullptr, MS_BIND | (options.recursive ? MS_REC : 0), "");
  } else {
    // The OCI "cgroup" type predates cgroup v2; the agent runs a v2-only system.
    std::string fs_type = m.type == "cgroup" ? "cgroup2" : m.type;
    if (fs_type.empty())
      throw Error("mount " + m.destination + ": type is required for non-bind mounts");
    // Through a symlink, /proc could land where masked paths and readonly paths miss it.
    if (fs_type == "proc" || fs_type == "sysfs") symlinks = MountTarget::Symlinks::kRefuse;
    std::string source = m.source.empty() ? fs_type : m.source;
    auto target =
        MountTarget::open(rootfs, m.destination, type, symlinks, MountTarget::Missing::kCreate);
    if (options.copy_up && fs_type != "tmpfs")
      throw Error("mount " + m.destination + ": tmpcopyup is for tmpfs mounts only");
    // Opened before the mount: it keeps naming the image's directory the tmpfs covers.
    UniqueFd covered = options.copy_up ? target.open_directory() : UniqueFd();
    target.mount(source.c_str(), fs_type.c_str(), options.flags, options.data);
    if (covered) {
      auto tmpfs =
          MountTarget::open(rootfs, m.destination, type, symlinks, MountTarget::Missing::kFail);
      copy_tree(covered.get(), tmpfs.open_directory().get());
    }
  }
  // MS_BIND ignores every other flag on the first call; they need a remount.
  unsigned long extra = options.bind ? options.flags & ~MS_REMOUNT : 0;
  bool recursive_attributes = options.recursive_set != 0 || options.recursive_clear != 0;
  if (extra == 0 && options.propagation == 0 && !recursive_attributes) return;
  // The first descriptor names what the new mount covers; this one names the mount.
  auto mounted =
      MountTarget::open(rootfs, m.destination, type, symlinks, MountTarget::Missing::kFail);
  if (extra != 0) {
    mounted.mount(nullptr, nullptr,
                  MS_BIND | MS_REMOUNT | extra | locked_flags(mounted.proc_path()), "");
  }
  if (recursive_attributes)
    mounted.set_attributes_recursively(options.recursive_set, options.recursive_clear);
  if (options.propagation != 0) mounted.mount(nullptr, nullptr, options.propagation, "");
}

// nodev on the container's /dev itself, the spec's as well as ours: the nodes it needs are
// bind mounts (mounts of their own, with the guest devtmpfs' flags), so nothing made there
// later by mknod can be opened, whatever the device rules say. Only this mount's flags change;
// read-only and the access-time mode are kept.
void seal_dev(const std::string& dev) {
  struct statvfs st;
  if (::statvfs(dev.c_str(), &st) != 0) throw_errno("statvfs " + dev);
  unsigned long flags = MS_NODEV | locked_flags(dev);
  if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
  if (!(st.f_flag & (ST_RELATIME | ST_NOATIME))) flags |= MS_STRICTATIME;
  do_mount(nullptr, dev, nullptr, MS_BIND | MS_REMOUNT | flags, "");
}

// dev: the container's /dev as resolve_in_root found it (the image's /dev may be a symlink).
// A node the spec lists itself (linux.devices) replaces the agent's.
void setup_dev(const std::string& dev, const std::vector<spec::DeviceNodeSpec>& spec_nodes) {
  static constexpr std::array<const char*, 6> kDevices = {"null",   "zero",    "full",
                                                          "random", "urandom", "tty"};
  for (const char* name : kDevices) {
    std::string host = std::string("/dev/") + name;
    // A VM without a console may have no /dev/tty; the others are required.
    if (std::string_view(name) == "tty" && ::access(host.c_str(), F_OK) != 0) continue;
    if (lists_device(spec_nodes, host)) continue;
    // What sits there is the image's when tmpcopyup copied its /dev: a symlink would carry the
    // created file and the mount out of the rootfs (this runs before pivot_root), a FIFO would
    // block whoever opens it. So no symlink is followed and the target is never opened.
    const std::string target = dev + "/" + name;
    struct stat st;
    if (::lstat(target.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
      throw Error("/dev/" + std::string(name) + " is a symlink in the container's /dev");
    MountTarget::open(dev, std::string("/") + name, MountTarget::Type::kFile,
                      MountTarget::Symlinks::kRefuse, MountTarget::Missing::kCreate)
        .mount(host.c_str(), nullptr, MS_BIND, "");
  }
  static constexpr std::array<std::pair<const char*, const char*>, 5> kLinks = {{
      {"/proc/self/fd", "fd"},
      {"/proc/self/fd/0", "stdin"},
      {"/proc/self/fd/1", "stdout"},
      {"/proc/self/fd/2", "stderr"},
      {"pts/ptmx", "ptmx"},
  }};
  for (const auto& [from, name] : kLinks) {
    std::string link = dev + "/" + name;
    if (::symlink(from, link.c_str()) != 0 && errno != EEXIST) throw_errno("symlink " + link);
  }
  seal_dev(dev);
}

void pivot_root_to(const std::string& rootfs) {
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root) throw_errno("open /");
  UniqueFd new_root(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!new_root) throw_errno("open rootfs " + rootfs);
  if (::fchdir(new_root.get()) != 0) throw_errno("chdir " + rootfs);
  // pivot_root(".", ".") stacks the old root on top of the new one; no put_old directory is
  // needed inside the container's rootfs.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) throw_errno("pivot_root " + rootfs);
  if (::fchdir(old_root.get()) != 0) throw_errno("chdir to the old root");
  // Slave first so the unmount below cannot propagate to the agent's mounts.
  do_mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, "");
  if (::umount2(".", MNT_DETACH) != 0) throw_errno("detach the old root");
  if (::chdir("/") != 0) throw_errno("chdir /");
}

}  // namespace

std::string resolve_in_root(const std::string& root, const std::string& path) {
  std::deque<std::string> pending = split_path(path);
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.front());
    pending.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    std::string candidate = root;
    for (const auto& r : resolved) candidate += "/" + r;
    candidate += "/" + part;
    struct stat st;
    if (::lstat(candidate.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
      resolved.push_back(std::move(part));
      continue;
    }
    if (++links > 40) throw Error("resolve " + path + " in " + root + ": too many symlinks");
    std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(candidate.c_str(), target.data(), target.size());
    if (n < 0) throw_errno("readlink " + candidate);
    target.resize(static_cast<std::size_t>(n));
    if (!target.empty() && target.front() == '/') resolved.clear();
    auto parts = split_path(target);
    pending.insert(pending.begin(), parts.begin(), parts.end());
  }
  std::string out = root;
  for (const auto& r : resolved) out += "/" + r;
  return out;
}

void enter_root_filesystem(const spec::ContainerSpec& spec, const std::string& rootfs) {
  const auto& linux_spec = spec.linux_spec;
  unsigned long propagation = MS_SLAVE | MS_REC;
  if (!linux_spec.rootfs_propagation.empty()) {
    propagation = spec::propagation_flags(linux_spec.rootfs_propagation);
  }
  do_mount(nullptr, "/", nullptr, propagation, "");
  do_mount(rootfs.c_str(), rootfs, nullptr, MS_BIND | MS_REC, "");

  bool spec_mounts_dev = false;
  for (const auto& m : spec.mounts) spec_mounts_dev = spec_mounts_dev || m.destination == "/dev";
  // Resolved in the rootfs as the spec's mounts are: rootfs + "/dev" would have the kernel
  // follow an image's /dev -> /some/host/path, and the nodes below would be made there.
  if (!spec_mounts_dev) {
    const std::string dev = resolve_in_root(rootfs, "/dev");
    mkdir_all(dev);
    do_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NODEV | MS_STRICTATIME,
             "mode=755,size=65536k");
  }
  for (const auto& m : spec.mounts) mount_one(rootfs, m);
  // Again: the spec's mounts (tmpcopyup of the image's /dev among them) came in between.
  const std::string dev = resolve_in_root(rootfs, "/dev");
  make_device_nodes(rootfs, dev, linux_spec.devices, linux_spec.has(spec::NamespaceType::kUser));
  setup_dev(dev, linux_spec.devices);
  pivot_root_to(rootfs);
}

void restrict_root_filesystem(const spec::ContainerSpec& spec) {
  for (const auto& path : spec.linux_spec.masked_paths) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // masking what does not exist is a no-op, as in runc
      throw_errno("masked path " + path);
    }
    if (S_ISDIR(st.st_mode)) {
      do_mount("tmpfs", path, "tmpfs", MS_RDONLY, "");
    } else {
      do_mount("/dev/null", path, nullptr, MS_BIND, "");
    }
  }
  for (const auto& path : spec.linux_spec.readonly_paths) {
    if (::access(path.c_str(), F_OK) != 0) {
      if (errno == ENOENT) continue;
      throw_errno("readonly path " + path);
    }
    do_mount(path.c_str(), path, nullptr, MS_BIND | MS_REC, "");
    remount_bind(path, MS_RDONLY);
  }
  if (spec.root_readonly) remount_bind("/", MS_RDONLY);
}

}  // namespace kvrun::agent
