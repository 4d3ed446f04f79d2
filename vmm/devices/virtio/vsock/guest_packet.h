// One packet the guest put on the TX queue: its header, validated, and its payload as the
// byte ranges of guest memory that hold it (not copied). This is the parser the fuzzer drives.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vmm/devices/virtio/chain.h"
#include "vmm/devices/virtio/vsock/packet.h"

namespace kvrun::vmm::vsock {

struct GuestPacket {
  Header header;
  // Exactly header.len bytes.
  virtio::ChainReader payload;

  Op op() const { return static_cast<Op>(header.op); }
};

// Reads the header from the first kHeaderSize bytes of `chain` (the chain's readable bytes,
// however they are split), checks it against `guest_cid` and the bytes that follow, and fills
// `out` on success.
HeaderError parse_guest_packet(virtio::ChainReader chain, uint64_t guest_cid, GuestPacket& out);

}  // namespace kvrun::vmm::vsock
