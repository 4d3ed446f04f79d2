// Fuzzes the split-virtqueue parser: descriptor chains (direct and indirect), the available
// ring's index and entries, the used ring and event-idx handling, all from hostile bytes.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/guest_ring.h"

using namespace kvrun::vmm::virtio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<Queue> queue = fuzz::ring_from_input(data, size);
  if (!queue) return 0;
  // Bounded: a queue yields at most `size` chains per available index it is shown.
  for (int round = 0; round < 2 * 256 + 2; ++round) {
    std::optional<DescriptorChain> chain = queue->pop();
    if (!chain) break;
    // Use the chain as a device would: read the readable part, fill the writable part.
    ChainReader reader = chain->reader();
    std::vector<uint8_t> buffer(std::min<size_t>(reader.available(), 4096));
    if (reader.read(buffer) != buffer.size()) __builtin_trap();
    ChainWriter writer = chain->writer();
    const std::vector<uint8_t> fill(std::min<size_t>(writer.available(), 4096), 0x5a);
    const size_t written = writer.write(fill);
    ChainWriter again = chain->writer();
    again.skip(1);
    const ChainWriter flip = again.take(100);
    for (const std::span<uint8_t> part : flip.parts()) part[0] ^= 1;
    queue->add_used(chain->head(), static_cast<uint32_t>(written));
  }
  queue->needs_interrupt();
  queue->enable_notification();
  return 0;
}
