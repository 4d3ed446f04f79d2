// The virtio-vsock packet header (struct virtio_vsock_hdr of the virtio spec, 44 bytes,
// little-endian on the wire) and the checks every header from the guest must pass before the
// multiplexer looks at it. Pure data: no queues, no sockets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace kvrun::vmm::vsock {

inline constexpr uint64_t kHostCid = 2;  // VMADDR_CID_HOST
inline constexpr size_t kHeaderSize = 44;
// Largest payload either side puts in one packet (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE in Linux).
inline constexpr uint32_t kMaxPayload = 64 * 1024;

inline constexpr uint16_t kTypeStream = 1;

enum class Op : uint16_t {
  kRequest = 1,
  kResponse = 2,
  kRst = 3,
  kShutdown = 4,
  kRw = 5,
  kCreditUpdate = 6,
  kCreditRequest = 7,
};
std::string_view op_name(Op op);

// SHUTDOWN flags: the sender will receive (kShutdownRcv) or send (kShutdownSend) no more.
inline constexpr uint32_t kShutdownRcv = 1;
inline constexpr uint32_t kShutdownSend = 2;
inline constexpr uint32_t kShutdownBoth = kShutdownRcv | kShutdownSend;

// Host-endian view of the header.
struct Header {
  uint64_t src_cid = 0;
  uint64_t dst_cid = 0;
  uint32_t src_port = 0;
  uint32_t dst_port = 0;
  uint32_t len = 0;
  uint16_t type = kTypeStream;
  uint16_t op = 0;
  uint32_t flags = 0;
  uint32_t buf_alloc = 0;
  uint32_t fwd_cnt = 0;

  bool operator==(const Header&) const = default;
};

using WireHeader = std::array<uint8_t, kHeaderSize>;

WireHeader encode(const Header& header);
// `bytes` must hold at least kHeaderSize bytes; only the first kHeaderSize are read.
Header decode(std::span<const uint8_t, kHeaderSize> bytes);

// Why a guest header was refused; kOk when it was not.
enum class HeaderError {
  kOk,
  kTruncated,  // the descriptor chain holds fewer than kHeaderSize readable bytes
  kBadSrcCid,  // not the guest's own CID
  kBadDstCid,  // not the host
  kBadType,    // not SOCK_STREAM (SEQPACKET is not offered)
  kBadOp,      // unknown op
  kBadLength,  // over kMaxPayload, longer than the chain, or payload on a non-RW op
  kBadFlags,   // unknown SHUTDOWN bits
};
std::string_view header_error_name(HeaderError error);

// Checks a header the guest sent. `payload_available` is how many readable bytes follow the
// header in the guest's descriptor chain.
HeaderError validate_guest_header(const Header& header, uint64_t guest_cid,
                                  size_t payload_available);

}  // namespace kvrun::vmm::vsock
