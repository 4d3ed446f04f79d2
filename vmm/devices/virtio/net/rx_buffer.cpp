#include "vmm/devices/virtio/net/rx_buffer.h"

#include <algorithm>
#include <cstring>

namespace kvrun::vmm::net {
namespace {

// Copies `bytes` into the scattered buffers `iov`, in order; the caller checked the room.
void scatter(std::span<const iovec> iov, std::span<const uint8_t> bytes) {
  for (const iovec& part : iov) {
    if (bytes.empty()) return;
    const size_t n = std::min(part.iov_len, bytes.size());
    std::memcpy(part.iov_base, bytes.data(), n);
    bytes = bytes.subspan(n);
  }
}

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
  out.header_iov.clear();
  out.frame_capacity = 0;
  out.iov.push_back({&out.header, kNetHeaderBytes});
  if (!chain.readable().empty()) return RxError::kReadOnlySegment;

  size_t header_room = 0;
  for (const virtio::Segment& segment : chain.writable()) {
    std::span<uint8_t> bytes = segment.data;

    const size_t to_header = std::min(bytes.size(), kNetHeaderBytes - header_room);
    if (to_header > 0) {
      out.header_iov.push_back({bytes.data(), to_header});
      header_room += to_header;
      bytes = bytes.subspan(to_header);
    }
    const size_t wanted = std::min(bytes.size(), kMaxFrameBytes - out.frame_capacity);
    if (wanted == 0) continue;
    if (out.iov.size() > kMaxChainSegments) return RxError::kTooManySegments;
    out.iov.push_back({bytes.data(), wanted});
    out.frame_capacity += wanted;
  }
  if (header_room < kNetHeaderBytes || out.frame_capacity < kMinFrameBytes)
    return RxError::kShortChain;
  return RxError::kNone;
}

bool copy_frame(const RxBuffer& buffer, std::span<const uint8_t> frame) {
  if (frame.size() > buffer.frame_capacity) return false;
  scatter(std::span(buffer.iov).subspan(1), frame);
  return true;
}

uint32_t finish_rx(RxBuffer& buffer, size_t frame_bytes, uint64_t features) {
  NetHeader& header = buffer.header;
  if (frame_bytes > buffer.frame_capacity || !gso_accepted(header, features)) return 0;
  if (!(features & feature_bit(feature::kGuestCsum))) header.flags = 0;
  header.num_buffers = 1;
  scatter(buffer.header_iov, std::span(reinterpret_cast<const uint8_t*>(&header), kNetHeaderBytes));
  return static_cast<uint32_t>(kNetHeaderBytes + frame_bytes);
}

}  // namespace kvrun::vmm::net
