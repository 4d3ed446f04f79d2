#include "agent/container/mount_options.h"

#include <sys/mount.h>

#include <array>
#include <string_view>

#include "common/error.h"

namespace kvrun::agent {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear;  // "rw", "suid", ... undo a flag
  unsigned long flag;
};

constexpr std::array<FlagOption, 20> kFlagOptions = {{
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
    {"mand", false, MS_MANDLOCK},
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

}  // namespace kvrun::agent
