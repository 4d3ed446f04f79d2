#include "vmm/devices/virtio/vsock/packet.h"

#include <cstring>

namespace kvrun::vmm::vsock {
namespace {

// The wire order is fixed little-endian; this writes/reads it byte by byte so the code is
// correct on any host and never does an unaligned access.
template <typename T>
void put_le(uint8_t*& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) *out++ = static_cast<uint8_t>(value >> (8 * i));
}

template <typename T>
T get_le(const uint8_t*& in) {
  T value = 0;
  for (size_t i = 0; i < sizeof(T); ++i) value |= static_cast<T>(static_cast<T>(*in++) << (8 * i));
  return value;
}

}  // namespace

std::string_view op_name(Op op) {
  switch (op) {
    case Op::kRequest:
      return "REQUEST";
    case Op::kResponse:
      return "RESPONSE";
    case Op::kRst:
      return "RST";
    case Op::kShutdown:
      return "SHUTDOWN";
    case Op::kRw:
      return "RW";
    case Op::kCreditUpdate:
      return "CREDIT_UPDATE";
    case Op::kCreditRequest:
      return "CREDIT_REQUEST";
  }
  return "unknown";
}

WireHeader encode(const Header& h) {
  WireHeader wire{};
  uint8_t* out = wire.data();
  put_le(out, h.src_cid);
  put_le(out, h.dst_cid);
  put_le(out, h.src_port);
  put_le(out, h.dst_port);
  put_le(out, h.len);
  put_le(out, h.type);
  put_le(out, h.op);
  put_le(out, h.flags);
  put_le(out, h.buf_alloc);
  put_le(out, h.fwd_cnt);
  return wire;
}

Header decode(std::span<const uint8_t, kHeaderSize> bytes) {
  const uint8_t* in = bytes.data();
  Header h;
  h.src_cid = get_le<uint64_t>(in);
  h.dst_cid = get_le<uint64_t>(in);
  h.src_port = get_le<uint32_t>(in);
  h.dst_port = get_le<uint32_t>(in);
  h.len = get_le<uint32_t>(in);
  h.type = get_le<uint16_t>(in);
  h.op = get_le<uint16_t>(in);
  h.flags = get_le<uint32_t>(in);
  h.buf_alloc = get_le<uint32_t>(in);
  h.fwd_cnt = get_le<uint32_t>(in);
  return h;
}

std::string_view header_error_name(HeaderError error) {
  switch (error) {
    case HeaderError::kOk:
      return "ok";
    case HeaderError::kTruncated:
      return "header truncated";
    case HeaderError::kBadSrcCid:
      return "source CID is not the guest's";
    case HeaderError::kBadDstCid:
      return "destination CID is not the host";
    case HeaderError::kBadType:
      return "socket type is not STREAM";
    case HeaderError::kBadOp:
      return "unknown op";
    case HeaderError::kBadLength:
      return "bad payload length";
    case HeaderError::kBadFlags:
      return "bad flags";
  }
  return "unknown";
}

HeaderError validate_guest_header(const Header& h, uint64_t guest_cid, size_t payload_available) {
  if (h.src_cid != guest_cid) return HeaderError::kBadSrcCid;
  if (h.dst_cid != kHostCid) return HeaderError::kBadDstCid;
  if (h.type != kTypeStream) return HeaderError::kBadType;
  if (h.op < static_cast<uint16_t>(Op::kRequest) ||
      h.op > static_cast<uint16_t>(Op::kCreditRequest))
    return HeaderError::kBadOp;
  const Op op = static_cast<Op>(h.op);
  if (h.len > kMaxPayload || h.len > payload_available) return HeaderError::kBadLength;
  if (op != Op::kRw && h.len != 0) return HeaderError::kBadLength;
  // Flags mean something only on SHUTDOWN (on RW they are SEQPACKET markers, which we do not
  // offer), so other ops' flags are ignored rather than costing the guest its data.
  if (op == Op::kShutdown && (h.flags & ~kShutdownBoth) != 0) return HeaderError::kBadFlags;
  return HeaderError::kOk;
}

}  // namespace kvrun::vmm::vsock
