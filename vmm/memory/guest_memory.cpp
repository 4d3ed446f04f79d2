#include "vmm/memory/guest_memory.h"

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "vmm/boot/layout.h"
#include "vmm/memory/format.h"

namespace kvrun::vmm {

GuestMemory GuestMemory::create(uint64_t size_bytes) {
  if (size_bytes == 0) throw Error("guest memory size must not be zero");
  if (size_bytes % kPageSize != 0) {
    throw Error("guest memory size " + hex(size_bytes) + " is not a multiple of 4 KiB");
  }
  if (size_bytes < layout::kMinMemoryBytes) {
    throw Error("guest memory " + format_size(size_bytes) + " is below the " +
                format_size(layout::kMinMemoryBytes) + " minimum");
  }
  const uint64_t low_size = std::min(size_bytes, layout::kMmioGapStart);
  const uint64_t high_size = size_bytes - low_size;
  // The high region starts at 4 GiB; its end must still be a representable address.
  if (high_size > UINT64_MAX - layout::kMmioGapEnd) {
    throw Error("guest memory size " + hex(size_bytes) + " is too large");
  }

  GuestMemory memory;
  auto add_region = [&memory](GuestAddress base, uint64_t size) {
    // One reservation holds the region and a PROT_NONE guard on each side: a device access
    // that a bounds check missed faults there instead of reading or corrupting the VMM's own
    // memory. The guards cost address space only. NORESERVE: the guest touches only what it
    // uses; a large, mostly idle guest should not need its whole size in commit charge.
    Mapping reservation = map_or_throw("mmap guest memory", size + 2 * kGuardBytes, PROT_NONE,
                                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
    auto* host = static_cast<uint8_t*>(reservation.get()) + kGuardBytes;
    if (::mprotect(host, size, PROT_READ | PROT_WRITE) != 0) throw_errno("mprotect guest memory");
    // Shows up as [anon:kvrun-guest-ram] in /proc/<pid>/maps, so tools (bench/boot) can tell
    // guest RAM from the VMM's own memory. Best effort: kernels without CONFIG_ANON_VMA_NAME
    // (or older than 5.17) answer EINVAL, and a missing name changes nothing else.
    if (::prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, host, size, "kvrun-guest-ram") != 0 &&
        errno != EINVAL) {
      spdlog::debug("naming guest memory [anon:kvrun-guest-ram]: {}", std::strerror(errno));
    }
    memory.regions_.push_back({base, size, host});
    memory.mappings_.push_back(std::move(reservation));
  };
  add_region(0, low_size);
  if (high_size > 0) add_region(layout::kMmioGapEnd, high_size);
  return memory;
}

uint64_t GuestMemory::total_size() const {
  uint64_t total = 0;
  for (const MemoryRegion& region : regions_) total += region.size;
  return total;
}

const MemoryRegion* GuestMemory::find(GuestAddress gpa, uint64_t len) const {
  for (const MemoryRegion& region : regions_) {
    // Written as differences so that neither gpa + len nor base + size can wrap.
    if (gpa < region.guest_base) continue;
    const uint64_t offset = gpa - region.guest_base;
    if (offset > region.size) continue;
    if (len > region.size - offset) continue;
    return &region;
  }
  return nullptr;
}

const MemoryRegion& GuestMemory::find_or_throw(GuestAddress gpa, uint64_t len) const {
  const MemoryRegion* region = find(gpa, len);
  if (region == nullptr) {
    throw Error("guest range " + format_range(gpa, len) + " is outside guest memory");
  }
  return *region;
}

bool GuestMemory::contains(GuestAddress gpa, uint64_t len) const {
  return find(gpa, len) != nullptr;
}

std::span<uint8_t> GuestMemory::slice(GuestAddress gpa, uint64_t len) {
  const MemoryRegion& region = find_or_throw(gpa, len);
  return {region.host + (gpa - region.guest_base), static_cast<size_t>(len)};
}

std::span<const uint8_t> GuestMemory::slice(GuestAddress gpa, uint64_t len) const {
  const MemoryRegion& region = find_or_throw(gpa, len);
  return {region.host + (gpa - region.guest_base), static_cast<size_t>(len)};
}

void GuestMemory::write(GuestAddress gpa, std::span<const uint8_t> bytes) {
  std::span<uint8_t> dest = slice(gpa, bytes.size());
  if (!bytes.empty()) std::memcpy(dest.data(), bytes.data(), bytes.size());
}

void GuestMemory::read(GuestAddress gpa, std::span<uint8_t> out) const {
  std::span<const uint8_t> src = slice(gpa, out.size());
  if (!out.empty()) std::memcpy(out.data(), src.data(), out.size());
}

}  // namespace kvrun::vmm
