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
    std::vector<uint8_t> buffer(std::min<uint64_t>(chain->readable_bytes(), 4096));
    chain->read_at(0, buffer);
    const std::vector<uint8_t> fill(std::min<uint64_t>(chain->writable_bytes(), 4096), 0x5a);
    const size_t written = chain->write_at(0, fill);
    for (const Segment& s : chain->writable_range(1, 100)) s.data[0] ^= 1;
    queue->add_used(chain->head(), static_cast<uint32_t>(written));
  }
  queue->needs_interrupt();
  queue->enable_notification();
  return 0;
}
