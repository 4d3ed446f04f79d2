// OCI mount "options" -> mount(2) flags, propagation and filesystem data. Pure, so unit-tested.
#pragma once

#include <string>
#include <vector>

namespace kvrun::agent {

struct MountOptions {
  unsigned long flags = 0;        // MS_* applied by the mount (or the bind remount)
  unsigned long propagation = 0;  // MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE (+MS_REC)
  bool bind = false;
  bool recursive = false;  // rbind
  std::string data;        // everything the kernel parses itself: "mode=755,size=64k"
};

MountOptions parse_mount_options(const std::vector<std::string>& options);

// "rslave" -> MS_SLAVE | MS_REC; throws Error for unknown names.
unsigned long propagation_flags(const std::string& name);

}  // namespace kvrun::agent
