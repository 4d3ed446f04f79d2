// The request parser for guest -> tap: turns one TX descriptor chain into a validated
// virtio-net header and the frame bytes, ready for one writev() to the tap.
//
// The queue has already checked that every buffer lies in guest RAM; everything else is the
// guest's to get wrong: which buffers are writable, how long the chain is, the header's
// fields. The frame is bounded by kMaxFrameBytes, and the header is copied out before it is
// checked, so the guest cannot change it between the check and the write.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "vmm/devices/virtio/net/net_defs.h"
#include "vmm/devices/virtio/queue.h"

namespace kvrun::vmm::net {

// Why a TX chain was dropped; kNone when it was accepted.
enum class TxError {
  kNone,
  kWritableSegment,  // the driver may only hand us device-readable buffers
  kTooManySegments,  // more than kMaxChainSegments buffers after the header
  kShortHeader,      // fewer bytes than the 12-byte header
  kShortFrame,       // less than an Ethernet header after it
  kLongFrame,        // more than kMaxFrameBytes after it
  kBadHeader,        // flags, GSO type or offsets the negotiated features do not allow
};
std::string_view describe(TxError error);

struct TxFrame {
  NetHeader header{};      // our own copy, validated
  std::vector<iovec> iov;  // iov[0] is `header`; the rest is the frame in guest memory
  size_t frame_bytes = 0;  // frame length, header excluded
};

// Parses `chain` into `out` (whose buffers are reused between calls). `features` are the
// negotiated ones; they decide which header flags and GSO types are legal.
TxError parse_tx_chain(const virtio::DescriptorChain& chain, uint64_t features, TxFrame& out);

// The header checks alone, for a frame of `frame_bytes`.
TxError check_tx_header(const NetHeader& header, size_t frame_bytes, uint64_t features);

}  // namespace kvrun::vmm::net
