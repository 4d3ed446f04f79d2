#include "vmm/devices/virtio/net/tx_frame.h"

#include <algorithm>
#include <cstring>

namespace kvrun::vmm::net {

std::string_view describe(TxError error) {
  switch (error) {
    case TxError::kNone:
      return "accepted";
    case TxError::kWritableSegment:
      return "device-writable buffer in a TX chain";
    case TxError::kTooManySegments:
      return "too many buffers in one chain";
    case TxError::kShortHeader:
      return "chain shorter than the virtio-net header";
    case TxError::kShortFrame:
      return "frame shorter than an Ethernet header";
    case TxError::kLongFrame:
      return "frame longer than 64 KiB";
    case TxError::kBadHeader:
      return "virtio-net header not allowed by the negotiated features";
  }
  return "unknown";
}

TxError check_tx_header(const NetHeader& header, size_t frame_bytes, uint64_t features) {
  const auto has = [features](unsigned bit) { return (features & feature_bit(bit)) != 0; };

  // DATA_VALID and RSC_INFO only go device -> driver.
  if (header.flags & ~kHeaderNeedsCsum) return TxError::kBadHeader;
  if (header.flags & kHeaderNeedsCsum) {
    if (!has(feature::kCsum)) return TxError::kBadHeader;
    // The 2-byte checksum field must lie inside the frame (widened: no 16-bit overflow).
    const size_t end = size_t{header.csum_start} + header.csum_offset + 2;
    if (end > frame_bytes) return TxError::kBadHeader;
  }
  if (header.hdr_len > frame_bytes) return TxError::kBadHeader;

  const uint8_t gso = header.gso_type & ~kGsoEcn;
  if (gso == kGsoNone) {
    if (header.gso_type & kGsoEcn) return TxError::kBadHeader;
    return TxError::kNone;
  }
  if (gso == kGsoTcpV4 && !has(feature::kHostTso4)) return TxError::kBadHeader;
  if (gso == kGsoTcpV6 && !has(feature::kHostTso6)) return TxError::kBadHeader;
  if (gso != kGsoTcpV4 && gso != kGsoTcpV6)
    return TxError::kBadHeader;  // UDP fragmentation offload is not offered
  if ((header.gso_type & kGsoEcn) && !has(feature::kHostEcn)) return TxError::kBadHeader;
  // Segmentation needs the checksum offload and a segment size.
  if (!(header.flags & kHeaderNeedsCsum) || header.gso_size == 0) return TxError::kBadHeader;
  return TxError::kNone;
}

TxError parse_tx_chain(const virtio::DescriptorChain& chain, uint64_t features, TxFrame& out) {
  out.iov.clear();
  out.frame_bytes = 0;
  out.iov.push_back({&out.header, kNetHeaderBytes});
  if (!chain.writable().empty()) return TxError::kWritableSegment;

  virtio::ChainReader readable = chain.reader();
  // A copy, however the header is split: the guest may change its memory after the check.
  const std::optional<NetHeader> header = readable.read_obj<NetHeader>();
  if (!header) return TxError::kShortHeader;
  out.header = *header;
  for (const std::span<const uint8_t> part : readable.parts()) {
    if (part.size() > kMaxFrameBytes - out.frame_bytes) return TxError::kLongFrame;
    if (out.iov.size() > kMaxChainSegments) return TxError::kTooManySegments;
    // writev only reads through the iovec.
    out.iov.push_back({const_cast<uint8_t*>(part.data()), part.size()});
    out.frame_bytes += part.size();
  }
  if (out.frame_bytes < kMinFrameBytes) return TxError::kShortFrame;
  // num_buffers means nothing on TX; the tap ignores it, but do not pass the guest's along.
  out.header.num_buffers = 0;
  return check_tx_header(out.header, out.frame_bytes, features);
}

}  // namespace kvrun::vmm::net
