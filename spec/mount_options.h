// OCI mount "options" -> mount(2) flags, propagation and filesystem data. Pure, so unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kvrun::spec {

struct MountOptions {
  unsigned long flags = 0;        // MS_* applied by the mount (or the bind remount)
  unsigned long propagation = 0;  // MS_PRIVATE/MS_SLAVE/MS_SHARED/MS_UNBINDABLE (+MS_REC)
  bool bind = false;
  bool recursive = false;  // rbind
  // runc's recursive options ("rro", "rnosuid", ...): MOUNT_ATTR_* set on the mount and every
  // mount below it with mount_setattr(AT_RECURSIVE) once it is in place.
  std::uint64_t recursive_set = 0, recursive_clear = 0;
  bool copy_up = false;    // runc's "tmpcopyup": a tmpfs starts with the image's files there
  std::string data;        // everything the kernel parses itself: "mode=755,size=64k"
};

// Names as runc reads them; an option nobody knows goes to the filesystem as data, as in runc.
// Throws Error for the idmapped-mount options, which the agent does not implement.
MountOptions parse_mount_options(const std::vector<std::string>& options);

// "rslave" -> MS_SLAVE | MS_REC; throws Error for unknown names.
unsigned long propagation_flags(const std::string& name);

}  // namespace kvrun::spec
