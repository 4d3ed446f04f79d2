#include "vmm/devices/virtio/net/rx_buffer.h"

#include <algorithm>
#include <cstring>

namespace kvrun::vmm::net {
namespace {

bool gso_accepted(const NetHeader& header, uint64_t features) {
  const auto has = [features](unsigned bit) { return (features & feature_bit(bit)) != 0; };
  switch (header.gso_type & ~kGsoEcn) {
    case kGsoNone:
      return true;
    case kGsoTcpV4:
      return has(feature::kGuestTso4);
    case kGsoTcpV6:
      return has(feature::kGuestTso6);
    default:
      return false;
  }
}

}  // namespace

std::string_view describe(RxError error) {
  switch (error) {
    case RxError::kNone:
      return "accepted";
    case RxError::kReadOnlySegment:
      return "device-readable buffer in an RX chain";
    case RxError::kTooManySegments:
      return "too many buffers in one chain";
    case RxError::kShortChain:
      return "chain too short for a header and an Ethernet frame";
  }
  return "unknown";
}

RxError parse_rx_chain(const virtio::DescriptorChain& chain, RxBuffer& out) {
  out.iov.clear();
  out.header_space = {};
  out.frame_space = {};
  out.frame_capacity = 0;
  out.iov.push_back({&out.header, kNetHeaderBytes});
  if (!chain.readable().empty()) return RxError::kReadOnlySegment;

  virtio::ChainWriter writable = chain.writer();
  out.header_space = writable.take(kNetHeaderBytes);
  out.frame_space = writable.take(kMaxFrameBytes);
  if (out.frame_space.parts().size() > kMaxChainSegments) return RxError::kTooManySegments;
  out.frame_space.append_iovecs(out.iov);
  out.frame_capacity = out.frame_space.available();
  if (out.header_space.available() < kNetHeaderBytes || out.frame_capacity < kMinFrameBytes)
    return RxError::kShortChain;
  return RxError::kNone;
}

bool copy_frame(const RxBuffer& buffer, std::span<const uint8_t> frame) {
  virtio::ChainWriter space = buffer.frame_space;  // the chain may wait for another frame
  return space.write_all(frame);
}

uint32_t finish_rx(RxBuffer& buffer, size_t frame_bytes, uint64_t features) {
  NetHeader& header = buffer.header;
  if (frame_bytes > buffer.frame_capacity || !gso_accepted(header, features)) return 0;
  if (!(features & feature_bit(feature::kGuestCsum))) header.flags = 0;
  header.num_buffers = 1;
  virtio::ChainWriter header_space = buffer.header_space;
  header_space.write_obj(header);
  return static_cast<uint32_t>(kNetHeaderBytes + frame_bytes);
}

}  // namespace kvrun::vmm::net
