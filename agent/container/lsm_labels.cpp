#include "agent/container/lsm_labels.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <array>
#include <utility>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent {

bool kernel_has_process_labels() {
  UniqueFd fd(::open("/proc/self/attr/current", O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buffer[256];
  // Without an LSM that labels processes the read fails (EINVAL).
  return ::read(fd.get(), buffer, sizeof buffer) >= 0;
}

void check_lsm_labels(const spec::ProcessSpec& process, const std::string& mount_label,
                      bool kernel_has_labels) {
  const std::array<std::pair<const char*, const std::string*>, 3> labels = {{
      {"process.apparmorProfile", &process.apparmor_profile},
      {"process.selinuxLabel", &process.selinux_label},
      {"linux.mountLabel", &mount_label},
  }};
  for (const auto& [field, value] : labels) {
    if (value->empty()) continue;
    if (kernel_has_labels) {
      throw Error(std::string(field) + ": LSM labels are not applied by kvrun, and this kernel " +
                  "has an LSM that would expect them");
    }
    spdlog::info("{} \"{}\": the kernel has no LSM, not applied", field, *value);
  }
}

}  // namespace kvrun::agent
