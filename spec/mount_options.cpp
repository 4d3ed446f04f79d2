#include "spec/mount_options.h"

#include <sys/mount.h>

#include <array>
#include <string_view>

#include "common/error.h"

namespace kvrun::spec {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // "rw", "suid", ... undo a flag
  unsigned long flag;
};

// runc's table (libcontainer/specconv), so a spec means the same under both runtimes.
constexpr std::array<FlagOption, 32> kFlagOptions = {{
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"acl", false, MS_POSIXACL},
    {"noacl", true, MS_POSIXACL},
    {"iversion", false, MS_I_VERSION},
    {"noiversion", true, MS_I_VERSION},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
}};

struct RecursiveOption {
  std::string_view name;
  bool clear;
  std::uint64_t attr;
};

constexpr std::array<RecursiveOption, 18> kRecursiveOptions = {{
    {"rro", false, MOUNT_ATTR_RDONLY},
    {"rrw", true, MOUNT_ATTR_RDONLY},
    {"rnosuid", false, MOUNT_ATTR_NOSUID},
    {"rsuid", true, MOUNT_ATTR_NOSUID},
    {"rnodev", false, MOUNT_ATTR_NODEV},
    {"rdev", true, MOUNT_ATTR_NODEV},
    {"rnoexec", false, MOUNT_ATTR_NOEXEC},
    {"rexec", true, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", false, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", true, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", false, MOUNT_ATTR_RELATIME},
    {"rnorelatime", true, MOUNT_ATTR_RELATIME},
    {"rnoatime", false, MOUNT_ATTR_NOATIME},
    {"ratime", true, MOUNT_ATTR_NOATIME},
    {"rstrictatime", false, MOUNT_ATTR_STRICTATIME},
    {"rnostrictatime", true, MOUNT_ATTR_STRICTATIME},
    {"rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW},
    {"rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW},
}};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr std::array<PropagationOption, 8> kPropagation = {{
    {"private", MS_PRIVATE},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},
    {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},
    {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE},
    {"runbindable", MS_UNBINDABLE | MS_REC},
}};

}  // namespace

unsigned long propagation_flags(const std::string& name) {
  for (const auto& p : kPropagation) {
    if (p.name == name) return p.flags;
  }
  throw Error("unknown mount propagation \"" + name + "\"");
}

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& option : options) {
    if (option == "bind" || option == "rbind") {
      out.bind = true;
      out.recursive = out.recursive || option == "rbind";
      continue;
    }
    if (option == "defaults") continue;
    if (option == "tmpcopyup") {
      out.copy_up = true;
      continue;
    }
    if (option == "idmap" || option == "ridmap") {
      throw Error("mount option \"" + option + "\": idmapped mounts are not supported");
    }
    bool handled = false;
    for (const auto& f : kFlagOptions) {
      if (f.name != option) continue;
      if (f.clear) {
        out.flags &= ~f.flag;
      } else {
        out.flags |= f.flag;
      }
      handled = true;
    }
    for (const auto& r : kRecursiveOptions) {
      if (r.name != option) continue;
      if (r.clear) {
        out.recursive_clear |= r.attr;
        out.recursive_set &= ~r.attr;
      } else {
        out.recursive_set |= r.attr;
        out.recursive_clear &= ~r.attr;
        // mount_setattr(2): an access-time mode is set by clearing the whole atime field too.
        if ((r.attr & MOUNT_ATTR__ATIME) == r.attr) out.recursive_clear |= MOUNT_ATTR__ATIME;
      }
      handled = true;
    }
    for (const auto& p : kPropagation) {
      if (p.name != option) continue;
      out.propagation = p.flags;
      handled = true;
    }
    if (handled) continue;
    if (!out.data.empty()) out.data += ",";
    out.data += option;
  }
  return out;
}

}  // namespace kvrun::spec
