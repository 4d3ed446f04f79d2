// Shared by the virtio fuzzers: turns a fuzz input into guest memory holding one split
// virtqueue, and a Queue serving it (set up by the test driver the unit tests use).
//
// Input: byte 0 = log2 of the queue size (mod 9: 1..256), byte 1 = ring features (bit 0
// INDIRECT_DESC, bit 1 EVENT_IDX), then bytes copied to guest address 0: the descriptor table
// at 0, the available ring right after it, the used ring after that (4-byte aligned).
// Everything else (descriptor addresses, lengths, indices) is whatever the input says.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>

#include "tests/support/virtio/test_driver.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio_spec.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm::virtio::fuzz {

inline constexpr uint64_t kMemoryBytes = 16ull << 20;
// Cleared before every input; inputs (and the rings) stay within it.
inline constexpr uint64_t kWindowBytes = 128ull << 10;

inline GuestMemory& fuzz_memory() {
  static GuestMemory* memory = [] {
    spdlog::set_level(spdlog::level::off);  // hostile chains are logged; not here
    return new GuestMemory(GuestMemory::create(kMemoryBytes));
  }();
  return *memory;
}

// Lays the input out in guest memory and returns an active queue over it, or nullopt if the
// input is too short to say anything.
inline std::optional<Queue> ring_from_input(const uint8_t* data, size_t size) {
  if (size < 2) return std::nullopt;
  GuestMemory& memory = fuzz_memory();
  std::memset(memory.slice(0, kWindowBytes).data(), 0, kWindowBytes);
  const auto queue_size = static_cast<uint16_t>(1u << (data[0] % 9));
  uint64_t features = 0;
  if (data[1] & 1) features |= feature_bit(kFeatureRingIndirectDesc);
  if (data[1] & 2) features |= feature_bit(kFeatureRingEventIdx);
  const size_t payload = std::min<size_t>(size - 2, kWindowBytes);
  memory.write(0, {data + 2, payload});

  Queue queue(queue_size);
  const test::TestDriver driver(memory, queue_size,
                                test::TestDriver::packed_layout(0, queue_size, kWindowBytes));
  driver.setup(queue, features);
  return queue;
}

}  // namespace kvrun::vmm::virtio::fuzz
