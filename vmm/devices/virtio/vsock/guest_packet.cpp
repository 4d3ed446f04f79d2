#include "vmm/devices/virtio/vsock/guest_packet.h"

namespace kvrun::vmm::vsock {

HeaderError parse_guest_packet(ReadParts chain, uint64_t guest_cid, GuestPacket& out) {
  WireHeader wire{};
  if (gather(chain, wire) < kHeaderSize) return HeaderError::kTruncated;
  const Header header = decode(wire);
  const size_t available = total_size(chain) - kHeaderSize;
  if (HeaderError error = validate_guest_header(header, guest_cid, available);
      error != HeaderError::kOk)
    return error;
  out.header = header;
  out.payload = slice(chain, kHeaderSize, header.len);
  return HeaderError::kOk;
}

}  // namespace kvrun::vmm::vsock
