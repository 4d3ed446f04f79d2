// Constants of the virtio-net device shared by its parts: the per-packet header, the largest
// frame either direction carries, and the segment type a descriptor chain is handed over in.
#pragma once

#include <cstddef>
#include <cstdint>

#include "vmm/devices/virtio/virtio_spec.h"

namespace kvrun::vmm::net {

// Feature bits (virtio 1.2, 5.1.3). <linux/virtio_net.h> is not valid C++ (a field is named
// `class`), so the numbers the device uses are spelled out here.
namespace feature {
inline constexpr unsigned kCsum = 0;
inline constexpr unsigned kGuestCsum = 1;
inline constexpr unsigned kMac = 5;
inline constexpr unsigned kGuestTso4 = 7;
inline constexpr unsigned kGuestTso6 = 8;
inline constexpr unsigned kGuestEcn = 9;
inline constexpr unsigned kGuestUfo = 10;
inline constexpr unsigned kHostTso4 = 11;
inline constexpr unsigned kHostTso6 = 12;
inline constexpr unsigned kHostEcn = 13;
inline constexpr unsigned kHostUfo = 14;
inline constexpr unsigned kMrgRxbuf = 15;
inline constexpr unsigned kStatus = 16;
inline constexpr unsigned kCtrlVq = 17;
inline constexpr unsigned kVersion1 = virtio::kFeatureVersion1;
}  // namespace feature

// NetHeader::flags
inline constexpr uint8_t kHeaderNeedsCsum = 1;
inline constexpr uint8_t kHeaderDataValid = 2;
// NetHeader::gso_type
inline constexpr uint8_t kGsoNone = 0;
inline constexpr uint8_t kGsoTcpV4 = 1;
inline constexpr uint8_t kGsoUdp = 3;
inline constexpr uint8_t kGsoTcpV6 = 4;
inline constexpr uint8_t kGsoEcn = 0x80;
// Config space `status`
inline constexpr uint16_t kStatusLinkUp = 1;

// With feature::kVersion1 every packet starts with this 12-byte header (num_buffers included),
// whether or not MRG_RXBUF is negotiated; the tap is set to the same size. Little-endian, as
// is the host.
struct NetHeader {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
  uint16_t num_buffers;
};
inline constexpr size_t kNetHeaderBytes = sizeof(NetHeader);
static_assert(kNetHeaderBytes == 12);

// The largest IP datagram (65535) in a VLAN-tagged Ethernet frame (14 + 4). A GSO frame
// from the guest or from the tap never exceeds it; anything longer is malformed.
inline constexpr size_t kMaxFrameBytes = 65535 + 14 + 4;
// Ethernet header: the shortest frame the tap accepts.
inline constexpr size_t kMinFrameBytes = 14;

// Non-empty frame buffers one chain may have: with our header buffer in front they must fit
// one readv/writev (IOV_MAX = 1024).
inline constexpr size_t kMaxChainSegments = 1023;

using virtio::feature_bit;

}  // namespace kvrun::vmm::net
