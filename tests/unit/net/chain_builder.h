// Descriptor chains over a plain buffer standing in for guest memory, for parser tests. (The
// queue has checked a real chain's buffers against guest RAM before a device sees it.)
#pragma once

#include <cstdint>
#include <vector>

#include "vmm/devices/virtio/queue.h"

namespace kvrun::vmm::net {

class FakeGuestRam {
 public:
  explicit FakeGuestRam(size_t size = 1 << 20) : bytes_(size) {}

  // The buffer [offset, offset + len) of this "RAM".
  virtio::Segment segment(size_t offset, size_t len) {
    return {std::span<uint8_t>(bytes_).subspan(offset, len), offset};
  }
  uint8_t* at(size_t offset) { return bytes_.data() + offset; }

 private:
  std::vector<uint8_t> bytes_;
};

inline virtio::DescriptorChain readable_chain(std::vector<virtio::Segment> segments) {
  return virtio::DescriptorChain(0, std::move(segments), {});
}
inline virtio::DescriptorChain writable_chain(std::vector<virtio::Segment> segments) {
  return virtio::DescriptorChain(0, {}, std::move(segments));
}

}  // namespace kvrun::vmm::net
