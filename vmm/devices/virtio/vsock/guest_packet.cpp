#include "vmm/devices/virtio/vsock/guest_packet.h"

namespace kvrun::vmm::vsock {

HeaderError parse_guest_packet(virtio::ChainReader chain, uint64_t guest_cid, GuestPacket& out) {
  WireHeader wire{};
  if (!chain.read_exact(wire)) return HeaderError::kTruncated;
  const Header header = decode(wire);
  if (HeaderError error = validate_guest_header(header, guest_cid, chain.available());
      error != HeaderError::kOk)
    return error;
  out.header = header;
  out.payload = chain.take(header.len);
  return HeaderError::kOk;
}

}  // namespace kvrun::vmm::vsock
