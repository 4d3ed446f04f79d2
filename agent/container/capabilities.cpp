#include "agent/container/capabilities.h"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "common/error.h"

namespace kvrun::agent {
namespace {

// The running kernel may know fewer capabilities than our headers.
int last_capability() {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = CAP_LAST_CAP;
  if (!(in >> last)) last = CAP_LAST_CAP;
  return last;
}

std::uint64_t mask_of(const std::vector<int>& caps) {
  std::uint64_t mask = 0;
  for (int cap : caps) mask |= std::uint64_t{1} << cap;
  return mask;
}

}  // namespace

void drop_bounding_set(const spec::CapabilitySpec& spec) {
  std::uint64_t keep = mask_of(spec.bounding);
  int last = last_capability();
  for (int cap = 0; cap <= last; ++cap) {
    if (keep & (std::uint64_t{1} << cap)) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      throw_errno("drop capability " + std::to_string(cap) + " from the bounding set");
    }
  }
}

void apply_capabilities(const spec::CapabilitySpec& spec) {
  std::uint64_t effective = mask_of(spec.effective);
  std::uint64_t permitted = mask_of(spec.permitted);
  std::uint64_t inheritable = mask_of(spec.inheritable);
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; ++i) {
    data[i].effective = static_cast<std::uint32_t>(effective >> (32 * i));
    data[i].permitted = static_cast<std::uint32_t>(permitted >> (32 * i));
    data[i].inheritable = static_cast<std::uint32_t>(inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &header, data) != 0) throw_errno("capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    throw_errno("clear the ambient capability set");
  }
  for (int cap : spec.ambient) {
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
      throw_errno("raise ambient capability " + std::to_string(cap));
    }
  }
}

}  // namespace kvrun::agent
