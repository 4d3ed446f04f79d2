#include "vmm/devices/virtio/net/tx_frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <vector>

#include "vmm/devices/virtio/net/offloads.h"

namespace kvrun::vmm::net {
namespace {

constexpr GuestAddress kBuf = 0x10000;
const uint64_t kAllFeatures = offered_features(~0u);

class TxFrameTest : public ::testing::Test {
 protected:
  GuestMemory memory = GuestMemory::create(16 << 20);
  TxFrame frame;

  // Puts header + `frame_bytes` bytes (i & 0xff) contiguously at kBuf.
  void put_packet(const NetHeader& header, size_t frame_bytes) {
    memory.write_obj(kBuf, header);
    std::vector<uint8_t> bytes(frame_bytes);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i);
    memory.write(kBuf + kNetHeaderBytes, bytes);
  }

  TxError parse(std::vector<ChainSegment> chain, uint64_t features = kAllFeatures) {
    return parse_tx_chain(memory, chain, features, frame);
  }

  // The frame as writev would send it (header excluded).
  std::vector<uint8_t> gathered() const {
    std::vector<uint8_t> out;
    for (size_t i = 1; i < frame.iov.size(); ++i) {
      auto* p = static_cast<const uint8_t*>(frame.iov[i].iov_base);
      out.insert(out.end(), p, p + frame.iov[i].iov_len);
    }
    return out;
  }
};

NetHeader csum_header(uint16_t start, uint16_t offset) {
  NetHeader h{};
  h.flags = kHeaderNeedsCsum;
  h.csum_start = start;
  h.csum_offset = offset;
  return h;
}

TEST_F(TxFrameTest, OneBufferHoldsHeaderAndFrame) {
  put_packet(csum_header(34, 16), 100);
  ASSERT_EQ(parse({{kBuf, 12 + 100, false}}), TxError::kNone);
  EXPECT_EQ(frame.frame_bytes, 100u);
  EXPECT_EQ(frame.header.csum_start, 34);
  ASSERT_EQ(frame.iov.size(), 2u);
  EXPECT_EQ(frame.iov[0].iov_base, &frame.header);
  EXPECT_EQ(frame.iov[0].iov_len, kNetHeaderBytes);
  std::vector<uint8_t> bytes = gathered();
  ASSERT_EQ(bytes.size(), 100u);
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[99], 99);
}

TEST_F(TxFrameTest, HeaderSplitOverBuffersAndFrameOverMany) {
  put_packet(csum_header(34, 6), 60);
  // 5 + 5 + 2 header bytes, then the frame in three pieces, one of them empty.
  ASSERT_EQ(parse({{kBuf, 5, false},
                   {kBuf + 5, 5, false},
                   {kBuf + 10, 4, false},
                   {kBuf + 14, 0, false},
                   {kBuf + 14, 58, false}}),
            TxError::kNone);
  EXPECT_EQ(frame.header.csum_start, 34);
  EXPECT_EQ(frame.header.csum_offset, 6);
  EXPECT_EQ(frame.frame_bytes, 60u);
  std::vector<uint8_t> bytes = gathered();
  ASSERT_EQ(bytes.size(), 60u);
  for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], i) << i;
}

TEST_F(TxFrameTest, HeaderIsACopyTheGuestCannotChangeAfterTheCheck) {
  put_packet(NetHeader{}, 60);
  ASSERT_EQ(parse({{kBuf, 72, false}}), TxError::kNone);
  memory.write_obj(kBuf, csum_header(0xffff, 0xffff));
  EXPECT_EQ(frame.header.flags, 0);
  EXPECT_EQ(frame.header.csum_start, 0);
}

TEST_F(TxFrameTest, GuestNumBuffersIsNotPassedOn) {
  NetHeader h{};
  h.num_buffers = 0x4242;
  put_packet(h, 60);
  ASSERT_EQ(parse({{kBuf, 72, false}}), TxError::kNone);
  EXPECT_EQ(frame.header.num_buffers, 0);
}

TEST_F(TxFrameTest, ChainTooShortForTheHeaderIsDropped) {
  put_packet(NetHeader{}, 0);
  EXPECT_EQ(parse({}), TxError::kShortHeader);
  EXPECT_EQ(parse({{kBuf, 11, false}}), TxError::kShortHeader);
  EXPECT_EQ(parse({{kBuf, 6, false}, {kBuf + 6, 5, false}}), TxError::kShortHeader);
}

TEST_F(TxFrameTest, FrameShorterThanEthernetHeaderIsDropped) {
  put_packet(NetHeader{}, 13);
  EXPECT_EQ(parse({{kBuf, 12 + 13, false}}), TxError::kShortFrame);
  EXPECT_EQ(parse({{kBuf, 12 + 14, false}}), TxError::kNone);
}

TEST_F(TxFrameTest, FrameLengthIsBoundedTo64KiB) {
  put_packet(NetHeader{}, kMaxFrameBytes + 1);
  EXPECT_EQ(parse({{kBuf, uint32_t(12 + kMaxFrameBytes), false}}), TxError::kNone);
  EXPECT_EQ(parse({{kBuf, uint32_t(12 + kMaxFrameBytes + 1), false}}), TxError::kLongFrame);
  // Split: each piece small, the sum too large.
  EXPECT_EQ(parse({{kBuf, 40000, false}, {kBuf + 40000, 40000, false}}), TxError::kLongFrame);
  // A huge length is refused before any byte of it is used.
  EXPECT_EQ(parse({{kBuf, std::numeric_limits<uint32_t>::max(), false}}), TxError::kBadAddress);
}

TEST_F(TxFrameTest, BufferOutsideGuestMemoryIsDropped) {
  EXPECT_EQ(parse({{memory.total_size() - 4, 16, false}}), TxError::kBadAddress);
  EXPECT_EQ(parse({{std::numeric_limits<GuestAddress>::max() - 3, 16, false}}),
            TxError::kBadAddress);
  EXPECT_EQ(parse({{0xd0000000, 64, false}}), TxError::kBadAddress);  // MMIO gap
  put_packet(NetHeader{}, 60);
  EXPECT_EQ(parse({{kBuf, 12, false}, {1ull << 40, 60, false}}), TxError::kBadAddress);
}

TEST_F(TxFrameTest, DeviceWritableBufferIsDropped) {
  put_packet(NetHeader{}, 60);
  EXPECT_EQ(parse({{kBuf, 12, false}, {kBuf + 12, 60, true}}), TxError::kWritableSegment);
}

TEST_F(TxFrameTest, TooManyBuffersIsDropped) {
  put_packet(NetHeader{}, kMaxChainSegments + 1);
  std::vector<ChainSegment> chain{{kBuf, 12, false}};
  for (size_t i = 0; i < kMaxChainSegments; ++i) chain.push_back({kBuf + 12 + i, 1, false});
  EXPECT_EQ(parse(chain), TxError::kNone);
  chain.push_back({kBuf + 12 + kMaxChainSegments, 1, false});
  EXPECT_EQ(parse(chain), TxError::kTooManySegments);
}

TEST(TxHeaderTest, ChecksumOffloadNeedsTheFeatureAndAFieldInsideTheFrame) {
  const NetHeader h = csum_header(34, 16);
  EXPECT_EQ(check_tx_header(h, 100, kAllFeatures), TxError::kNone);
  EXPECT_EQ(check_tx_header(h, 100, kAllFeatures & ~feature_bit(feature::kCsum)),
            TxError::kBadHeader);
  EXPECT_EQ(check_tx_header(h, 34 + 16 + 2, kAllFeatures), TxError::kNone);
  EXPECT_EQ(check_tx_header(h, 34 + 16 + 1, kAllFeatures), TxError::kBadHeader);
  // 0xffff + 0xffff must not wrap around in 16 bits.
  EXPECT_EQ(check_tx_header(csum_header(0xffff, 0xffff), 65535, kAllFeatures), TxError::kBadHeader);
}

TEST(TxHeaderTest, DeviceToDriverFlagsAreRefused) {
  NetHeader h{};
  h.flags = kHeaderDataValid;
  EXPECT_EQ(check_tx_header(h, 100, kAllFeatures), TxError::kBadHeader);
  h.flags = 0x80;
  EXPECT_EQ(check_tx_header(h, 100, kAllFeatures), TxError::kBadHeader);
}

TEST(TxHeaderTest, SegmentationNeedsItsFeatureChecksumAndSize) {
  NetHeader h = csum_header(34, 16);
  h.gso_type = kGsoTcpV4;
  h.gso_size = 1448;
  h.hdr_len = 66;
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures), TxError::kNone);
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures & ~feature_bit(feature::kHostTso4)),
            TxError::kBadHeader);
  EXPECT_EQ(check_tx_header(h, 65, kAllFeatures), TxError::kBadHeader);  // hdr_len > frame

  h.gso_type = kGsoTcpV6;
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures), TxError::kNone);
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures & ~feature_bit(feature::kHostTso6)),
            TxError::kBadHeader);

  h.gso_type = kGsoTcpV4 | kGsoEcn;
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures), TxError::kNone);
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures & ~feature_bit(feature::kHostEcn)),
            TxError::kBadHeader);

  h.gso_type = kGsoUdp;
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures), TxError::kBadHeader);
  h.gso_type = 2;  // not a GSO type at all
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures), TxError::kBadHeader);

  h.gso_type = kGsoTcpV4;
  h.gso_size = 0;
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures), TxError::kBadHeader);
  h.gso_size = 1448;
  h.flags = 0;
  EXPECT_EQ(check_tx_header(h, 60000, kAllFeatures), TxError::kBadHeader);

  NetHeader ecn_only{};
  ecn_only.gso_type = kGsoEcn;
  EXPECT_EQ(check_tx_header(ecn_only, 100, kAllFeatures), TxError::kBadHeader);
}

TEST(TxHeaderTest, EveryErrorHasADescription) {
  for (TxError e :
       {TxError::kWritableSegment, TxError::kBadAddress, TxError::kTooManySegments,
        TxError::kShortHeader, TxError::kShortFrame, TxError::kLongFrame, TxError::kBadHeader})
    EXPECT_NE(describe(e), "unknown");
}

}  // namespace
}  // namespace kvrun::vmm::net
