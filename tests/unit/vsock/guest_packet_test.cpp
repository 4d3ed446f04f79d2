#include "vmm/devices/virtio/vsock/guest_packet.h"

#include <gtest/gtest.h>

#include <vector>

namespace kvrun::vmm::vsock {
namespace {

constexpr uint64_t kGuestCid = 3;

Header rw(uint32_t len) {
  Header h;
  h.src_cid = kGuestCid;
  h.dst_cid = kHostCid;
  h.src_port = 5000;
  h.dst_port = 1024;
  h.len = len;
  h.op = static_cast<uint16_t>(Op::kRw);
  h.buf_alloc = 262144;
  h.fwd_cnt = 7;
  return h;
}

TEST(VsockPacket, EncodingIsLittleEndianIn44Bytes) {
  Header h = rw(0x01020304);
  h.src_cid = 0x1122334455667788ull;
  const WireHeader w = encode(h);
  EXPECT_EQ(w.size(), 44u);
  EXPECT_EQ(w[0], 0x88);
  EXPECT_EQ(w[7], 0x11);
  EXPECT_EQ(w[24], 0x04);  // len
  EXPECT_EQ(w[27], 0x01);
  EXPECT_EQ(w[30], static_cast<uint8_t>(Op::kRw));  // op after the 16-bit type
  EXPECT_EQ(decode(w), h);
}

// A chain split at every possible point between two descriptors, plus a three-way split.
TEST(VsockGuestPacket, HeaderAndPayloadMaySpanDescriptorsAnyhow) {
  const Header h = rw(5);
  const WireHeader w = encode(h);
  std::vector<uint8_t> bytes(w.begin(), w.end());
  for (uint8_t b : {'h', 'e', 'l', 'l', 'o'}) bytes.push_back(b);
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    const std::span<const uint8_t> all(bytes);
    const std::vector<std::span<const uint8_t>> chain{all.subspan(0, cut), all.subspan(cut)};
    GuestPacket p;
    ASSERT_EQ(parse_guest_packet(virtio::ChainReader(chain), kGuestCid, p), HeaderError::kOk)
        << cut;
    EXPECT_EQ(p.header, h);
    std::string payload;
    for (auto part : p.payload.parts()) payload.append(part.begin(), part.end());
    EXPECT_EQ(payload, "hello") << cut;
  }
}

TEST(VsockGuestPacket, PayloadStopsAtLenEvenIfTheChainIsLonger) {
  const WireHeader w = encode(rw(2));
  std::vector<uint8_t> bytes(w.begin(), w.end());
  bytes.insert(bytes.end(), {'a', 'b', 'c', 'd'});
  const std::vector<std::span<const uint8_t>> chain{bytes};
  GuestPacket p;
  ASSERT_EQ(parse_guest_packet(virtio::ChainReader(chain), kGuestCid, p), HeaderError::kOk);
  ASSERT_EQ(p.payload.parts().size(), 1u);
  EXPECT_EQ(p.payload.parts()[0].size(), 2u);
}

HeaderError parse(const Header& h, size_t extra) {
  const WireHeader w = encode(h);
  std::vector<uint8_t> bytes(w.begin(), w.end());
  bytes.resize(bytes.size() + extra);
  const std::vector<std::span<const uint8_t>> chain{bytes};
  GuestPacket p;
  return parse_guest_packet(virtio::ChainReader(chain), kGuestCid, p);
}

TEST(VsockGuestPacket, RefusesWhatTheGuestMayNotSend) {
  std::vector<uint8_t> short_header(43);
  const std::vector<std::span<const uint8_t>> truncated{short_header};
  GuestPacket p;
  EXPECT_EQ(parse_guest_packet(virtio::ChainReader(truncated), kGuestCid, p),
            HeaderError::kTruncated);
  EXPECT_EQ(parse_guest_packet(virtio::ChainReader(), kGuestCid, p), HeaderError::kTruncated);

  Header h = rw(0);
  h.src_cid = 4;
  EXPECT_EQ(parse(h, 0), HeaderError::kBadSrcCid);
  h = rw(0);
  h.dst_cid = 5;
  EXPECT_EQ(parse(h, 0), HeaderError::kBadDstCid);
  h = rw(0);
  h.type = 2;  // SEQPACKET
  EXPECT_EQ(parse(h, 0), HeaderError::kBadType);
  for (uint16_t op : {0, 8, 0xffff}) {
    h = rw(0);
    h.op = op;
    EXPECT_EQ(parse(h, 0), HeaderError::kBadOp) << op;
  }
  EXPECT_EQ(parse(rw(10), 9), HeaderError::kBadLength) << "longer than the chain";
  EXPECT_EQ(parse(rw(kMaxPayload + 1), kMaxPayload + 1), HeaderError::kBadLength);
  EXPECT_EQ(parse(rw(0xffffffff), 16), HeaderError::kBadLength);
  EXPECT_EQ(parse(rw(kMaxPayload), kMaxPayload), HeaderError::kOk);
  h = rw(4);
  h.op = static_cast<uint16_t>(Op::kRequest);
  EXPECT_EQ(parse(h, 4), HeaderError::kBadLength) << "payload on a control op";
  h = rw(0);
  h.op = static_cast<uint16_t>(Op::kShutdown);
  h.flags = 4;
  EXPECT_EQ(parse(h, 0), HeaderError::kBadFlags);
  h.flags = kShutdownBoth;
  EXPECT_EQ(parse(h, 0), HeaderError::kOk);
}

}  // namespace
}  // namespace kvrun::vmm::vsock
