// Guest receive buffers: turns one RX descriptor chain into the places a packet from the tap
// goes, and writes the packet's virtio-net header there once it has arrived.
//
// The queue has already checked that every buffer lies in guest RAM; the chain must also be
// all device-writable and long enough. A chain that can hold any frame (kMaxFrameBytes, as a guest
// with GUEST_TSO4/6 and no MRG_RXBUF posts) is read into directly; a smaller one gets a copy of the
// frame when it fits.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "vmm/devices/virtio/net/net_defs.h"
#include "vmm/devices/virtio/queue.h"

namespace kvrun::vmm::net {

enum class RxError {
  kNone,
  kReadOnlySegment,  // the driver must give us device-writable buffers only
  kTooManySegments,  // more than kMaxChainSegments non-empty buffers
  kShortChain,       // not even room for the header and an Ethernet header
};
std::string_view describe(RxError error);

struct RxBuffer {
  // What readv() from the tap fills: iov[0] is `header` (our copy, checked before the guest
  // sees it), the rest the guest's buffers after the header bytes.
  NetHeader header{};
  std::vector<iovec> iov;
  virtio::ChainWriter header_space;  // where the header goes in guest memory
  virtio::ChainWriter frame_space;   // and the frame: what iov[1..] covers
  size_t frame_capacity = 0;         // bytes the guest's buffers hold after the header

  bool holds_any_frame() const { return frame_capacity >= kMaxFrameBytes; }
};

// Parses `chain` into `out` (whose vectors are reused between calls). Lengths beyond
// kMaxFrameBytes are ignored: no frame needs them.
RxError parse_rx_chain(const virtio::DescriptorChain& chain, RxBuffer& out);

// Copies `frame` into the buffer's frame part. False (nothing copied) if it does not fit.
bool copy_frame(const RxBuffer& buffer, std::span<const uint8_t> frame);

// Writes buffer.header to the guest, fixed up for the negotiated `features` (num_buffers = 1;
// checksum flags only when GUEST_CSUM was negotiated). Returns the used length to report,
// header + `frame_bytes`, or 0 when the header describes a GSO frame the guest did not
// accept (the tap was told not to send those, so this only happens around a feature change).
uint32_t finish_rx(RxBuffer& buffer, size_t frame_bytes, uint64_t features);

}  // namespace kvrun::vmm::net
