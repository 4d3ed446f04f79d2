#include "vmm/devices/virtio/net/tx_frame.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/unit/net/chain_builder.h"
#include "vmm/devices/virtio/net/offloads.h"

namespace kvrun::vmm::net {
namespace {

const uint64_t kAllFeatures = offered_features(~0u);

class TxFrameTest : public ::testing::Test {
 protected:
  FakeGuestRam ram;
  TxFrame frame;

  // Puts header + `frame_bytes` bytes (i & 0xff) contiguously at offset 0.
  void put_packet(const NetHeader& header, size_t frame_bytes) {
    std::memcpy(ram.at(0), &header, sizeof(header));
    for (size_t i = 0; i < frame_bytes; ++i) ram.at(kNetHeaderBytes)[i] = static_cast<uint8_t>(i);
  }
  virtio::Segment seg(size_t offset, size_t len) { return ram.segment(offset, len); }

  TxError parse(std::vector<virtio::Segment> readable, uint64_t features = kAllFeatures) {
    return parse_tx_chain(readable_chain(std::move(readable)), features, frame);
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
  ASSERT_EQ(parse({seg(0, 12 + 100)}), TxError::kNone);
  EXPECT_EQ(frame.frame_bytes, 100u);
  EXPECT_EQ(frame.header.csum_start, 34);
  ASSERT_EQ(frame.iov.size(), 2u);
  EXPECT_EQ(frame.iov[0].iov_base, &frame.header);
  EXPECT_EQ(frame.iov[0].iov_len, kNetHeaderBytes);
  EXPECT_EQ(frame.iov[1].iov_base, ram.at(12));  // no copy of the frame
  std::vector<uint8_t> bytes = gathered();
  ASSERT_EQ(bytes.size(), 100u);
  EXPECT_EQ(bytes[0], 0);
  EXPECT_EQ(bytes[99], 99);
}

TEST_F(TxFrameTest, HeaderSplitOverBuffersAndFrameOverMany) {
  put_packet(csum_header(34, 6), 60);
  // 5 + 5 + 2 header bytes, then the frame in two pieces.
  ASSERT_EQ(parse({seg(0, 5), seg(5, 5), seg(10, 4), seg(14, 58)}), TxError::kNone);
  EXPECT_EQ(frame.header.csum_start, 34);
  EXPECT_EQ(frame.header.csum_offset, 6);
  EXPECT_EQ(frame.frame_bytes, 60u);
  std::vector<uint8_t> bytes = gathered();
  ASSERT_EQ(bytes.size(), 60u);
  for (size_t i = 0; i < bytes.size(); ++i) ASSERT_EQ(bytes[i], i) << i;
}

TEST_F(TxFrameTest, HeaderIsACopyTheGuestCannotChangeAfterTheCheck) {
  put_packet(NetHeader{}, 60);
  ASSERT_EQ(parse({seg(0, 72)}), TxError::kNone);
  const NetHeader evil = csum_header(0xffff, 0xffff);
  std::memcpy(ram.at(0), &evil, sizeof(evil));
  EXPECT_EQ(frame.header.flags, 0);
  EXPECT_EQ(frame.header.csum_start, 0);
}

TEST_F(TxFrameTest, GuestNumBuffersIsNotPassedOn) {
  NetHeader h{};
  h.num_buffers = 0x4242;
  put_packet(h, 60);
  ASSERT_EQ(parse({seg(0, 72)}), TxError::kNone);
  EXPECT_EQ(frame.header.num_buffers, 0);
}

TEST_F(TxFrameTest, ChainTooShortForTheHeaderIsDropped) {
  put_packet(NetHeader{}, 0);
  EXPECT_EQ(parse({}), TxError::kShortHeader);
  EXPECT_EQ(parse({seg(0, 11)}), TxError::kShortHeader);
  EXPECT_EQ(parse({seg(0, 6), seg(6, 5)}), TxError::kShortHeader);
}

TEST_F(TxFrameTest, FrameShorterThanEthernetHeaderIsDropped) {
  put_packet(NetHeader{}, 13);
  EXPECT_EQ(parse({seg(0, 12 + 13)}), TxError::kShortFrame);
  EXPECT_EQ(parse({seg(0, 12 + 14)}), TxError::kNone);
}

TEST_F(TxFrameTest, FrameLengthIsBoundedTo64KiB) {
  put_packet(NetHeader{}, kMaxFrameBytes + 1);
  EXPECT_EQ(parse({seg(0, 12 + kMaxFrameBytes)}), TxError::kNone);
  EXPECT_EQ(parse({seg(0, 12 + kMaxFrameBytes + 1)}), TxError::kLongFrame);
  // Split: each piece small, the sum too large.
  EXPECT_EQ(parse({seg(0, 40000), seg(40000, 40000)}), TxError::kLongFrame);
}

TEST_F(TxFrameTest, DeviceWritableBufferIsDropped) {
  put_packet(NetHeader{}, 60);
  virtio::DescriptorChain chain(0, {seg(0, 72)}, {seg(100, 10)});
  EXPECT_EQ(parse_tx_chain(chain, kAllFeatures, frame), TxError::kWritableSegment);
}

TEST_F(TxFrameTest, TooManyBuffersIsDropped) {
  put_packet(NetHeader{}, kMaxChainSegments + 1);
  std::vector<virtio::Segment> chain{seg(0, 12)};
  for (size_t i = 0; i < kMaxChainSegments; ++i) chain.push_back(seg(12 + i, 1));
  EXPECT_EQ(parse(chain), TxError::kNone);
  EXPECT_EQ(frame.iov.size(), 1024u);  // what one writev takes
  chain.push_back(seg(12 + kMaxChainSegments, 1));
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
  for (TxError e : {TxError::kWritableSegment, TxError::kTooManySegments, TxError::kShortHeader,
                    TxError::kShortFrame, TxError::kLongFrame, TxError::kBadHeader})
    EXPECT_NE(describe(e), "unknown");
}

}  // namespace
}  // namespace kvrun::vmm::net
