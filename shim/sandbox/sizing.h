// VM size from the spec's linux.resources. The guest needs memory of its own (kernel, agent,
// page cache of the rootfs image) on top of the container's limit, and at least one vCPU.
#pragma once

#include <cstdint>

#include "shim/oci/bundle.h"

namespace kvrun::sandbox {

struct VmSize {
  unsigned vcpus = 1;
  std::uint64_t memory_mib = 0;
};

inline constexpr std::uint64_t kGuestOverheadMib = 64;   // kernel + agent + caches
inline constexpr std::uint64_t kMinMemoryMib = 128;      // below this our kernel is cramped
inline constexpr std::uint64_t kDefaultMemoryMib = 256;  // no memory limit in the spec
inline constexpr unsigned kMaxVcpus = 32;

// vCPUs: ceil(quota / period) when both are positive, else the cpuset's size, else 1; capped at
// kMaxVcpus and at `host_cpus`. Memory: limit (rounded up to MiB) + overhead, at least the
// minimum; the default when there is no limit.
VmSize size_vm(const oci::Resources& resources, unsigned host_cpus);

}  // namespace kvrun::sandbox
