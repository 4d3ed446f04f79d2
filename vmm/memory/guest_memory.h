// Guest physical memory: anonymous host mappings split around the x86 MMIO gap, each between
// PROT_NONE guard regions. Every access from device or loader code goes through the
// bounds-checked API here; a range that is not wholly inside one region is an error, never a
// host access, and an access that slips past a check anyway faults in a guard.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "common/mapping.h"

namespace kvrun::vmm {

using GuestAddress = uint64_t;

inline constexpr uint64_t kPageSize = 4096;
// Each RAM region's guard on either side: more than any ring index (16 bits) times the largest
// ring element (8 bytes) can reach past a ring, so such an overrun always lands in a guard.
inline constexpr uint64_t kGuardBytes = 2ull << 20;

// Callers make sure `value` is far from UINT64_MAX (e.g. it is inside guest memory).
constexpr uint64_t page_align_up(uint64_t value) {
  return (value + kPageSize - 1) & ~(kPageSize - 1);
}
constexpr uint64_t page_align_down(uint64_t value) { return value & ~(kPageSize - 1); }

struct MemoryRegion {
  GuestAddress guest_base;
  uint64_t size;
  uint8_t* host;  // start of the host mapping backing this region
};

class GuestMemory {
 public:
  // Maps `size_bytes` of guest RAM: [0, min(size, kMmioGapStart)) and the rest from 4 GiB.
  // Throws kvrun::Error if the size is zero, not page-aligned, below layout::kMinMemoryBytes
  // or the mapping fails.
  static GuestMemory create(uint64_t size_bytes);

  GuestMemory(GuestMemory&&) = default;
  GuestMemory& operator=(GuestMemory&&) = default;

  std::span<const MemoryRegion> regions() const { return regions_; }
  uint64_t total_size() const;

  // True if [gpa, gpa + len) lies wholly inside one region (overflow-safe). An empty range is
  // contained if gpa is inside a region or at its end.
  bool contains(GuestAddress gpa, uint64_t len) const;

  // Host view of [gpa, gpa + len); throws kvrun::Error naming the range if it is not contained.
  std::span<uint8_t> slice(GuestAddress gpa, uint64_t len);
  std::span<const uint8_t> slice(GuestAddress gpa, uint64_t len) const;

  void write(GuestAddress gpa, std::span<const uint8_t> bytes);
  void read(GuestAddress gpa, std::span<uint8_t> out) const;

  template <typename T>
  void write_obj(GuestAddress gpa, const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::memcpy(slice(gpa, sizeof(T)).data(), &value, sizeof(T));
  }

  template <typename T>
  T read_obj(GuestAddress gpa) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    std::memcpy(&value, slice(gpa, sizeof(T)).data(), sizeof(T));
    return value;
  }

 private:
  GuestMemory() = default;
  const MemoryRegion* find(GuestAddress gpa, uint64_t len) const;
  const MemoryRegion& find_or_throw(GuestAddress gpa, uint64_t len) const;

  std::vector<Mapping> mappings_;
  std::vector<MemoryRegion> regions_;
};

}  // namespace kvrun::vmm
