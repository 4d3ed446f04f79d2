#include "shim/sandbox/sizing.h"

#include <algorithm>

namespace kvrun::sandbox {

VmSize size_vm(const oci::Resources& resources, unsigned host_cpus) {
  VmSize size;
  if (resources.cpu_quota && *resources.cpu_quota > 0 && resources.cpu_period &&
      *resources.cpu_period > 0) {
    auto quota = static_cast<std::uint64_t>(*resources.cpu_quota);
    size.vcpus = static_cast<unsigned>(std::min<std::uint64_t>(
        (quota + *resources.cpu_period - 1) / *resources.cpu_period, kMaxVcpus));
  } else if (resources.cpuset_cpus) {
    size.vcpus = oci::count_cpuset(*resources.cpuset_cpus, "linux.resources.cpu.cpus");
  }
  size.vcpus = std::clamp(size.vcpus, 1u, std::max(1u, std::min(kMaxVcpus, host_cpus)));

  if (resources.memory_limit && *resources.memory_limit > 0) {
    std::uint64_t limit_mib =
        (static_cast<std::uint64_t>(*resources.memory_limit) + (1 << 20) - 1) >> 20;
    size.memory_mib = std::max(limit_mib + kGuestOverheadMib, kMinMemoryMib);
  } else {
    size.memory_mib = kDefaultMemoryMib;
  }
  return size;
}

}  // namespace kvrun::sandbox
