#include "vmm/memory/format.h"

#include <cinttypes>
#include <cstdio>

namespace kvrun::vmm {

std::string hex(uint64_t value) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%" PRIx64, value);
  return buf;
}

std::string format_range(uint64_t start, uint64_t len) {
  if (len > UINT64_MAX - start) return hex(start) + "+" + hex(len);
  return "[" + hex(start) + ", " + hex(start + len) + ")";
}

std::string format_size(uint64_t bytes) {
  constexpr uint64_t kMiB = 1ull << 20;
  if (bytes % kMiB == 0) return std::to_string(bytes / kMiB) + " MiB";
  if (bytes < kMiB) return std::to_string(bytes) + " bytes";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / kMiB);
  return buf;
}

}  // namespace kvrun::vmm
