#include "vmm/devices/virtio/net/rx_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <vector>

#include "tests/unit/net/chain_builder.h"
#include "vmm/devices/virtio/net/offloads.h"

namespace kvrun::vmm::net {
namespace {

const uint64_t kAllFeatures = offered_features(~0u);

class RxBufferTest : public ::testing::Test {
 protected:
  FakeGuestRam ram;
  RxBuffer buffer;

  virtio::Segment seg(size_t offset, size_t len) { return ram.segment(offset, len); }
  RxError parse(std::vector<virtio::Segment> writable) {
    return parse_rx_chain(writable_chain(std::move(writable)), buffer);
  }
  std::vector<uint8_t> guest_bytes(size_t at, size_t n) {
    return std::vector<uint8_t>(ram.at(at), ram.at(at) + n);
  }
  NetHeader guest_header(size_t at) {
    NetHeader h;
    std::memcpy(&h, ram.at(at), sizeof(h));
    return h;
  }
};

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> bytes(n);
  std::iota(bytes.begin(), bytes.end(), uint8_t{1});
  return bytes;
}

TEST_F(RxBufferTest, BigBufferHoldsAnyFrameAndIsReadIntoDirectly) {
  // What a guest with GUEST_TSO4 and no MRG_RXBUF posts: a header buffer and 17 pages.
  std::vector<virtio::Segment> chain{seg(0, 12)};
  for (size_t i = 0; i < 17; ++i) chain.push_back(seg(0x1000 + i * 0x1000, 0x1000));
  ASSERT_EQ(parse(chain), RxError::kNone);
  EXPECT_TRUE(buffer.holds_any_frame());
  EXPECT_EQ(buffer.frame_capacity, kMaxFrameBytes);  // the part past 64 KiB is not used
  EXPECT_EQ(buffer.iov[0].iov_base, &buffer.header);
  ASSERT_EQ(buffer.header_space.parts().size(), 1u);
  EXPECT_EQ(buffer.header_space.parts()[0].size(), 12u);
  EXPECT_EQ(buffer.iov[1].iov_base, ram.at(0x1000));
  size_t total = 0;
  for (const iovec& v : buffer.iov) total += v.iov_len;
  EXPECT_EQ(total, kNetHeaderBytes + kMaxFrameBytes);
}

TEST_F(RxBufferTest, SmallBufferTakesACopyWhenTheFrameFits) {
  ASSERT_EQ(parse({seg(0, 12 + 1514)}), RxError::kNone);
  EXPECT_FALSE(buffer.holds_any_frame());
  EXPECT_EQ(buffer.frame_capacity, 1514u);
  std::vector<uint8_t> frame = pattern(1514);
  ASSERT_TRUE(copy_frame(buffer, frame));
  EXPECT_EQ(guest_bytes(12, 1514), frame);
  std::vector<uint8_t> big = pattern(1515);
  EXPECT_FALSE(copy_frame(buffer, big));
}

TEST_F(RxBufferTest, HeaderAndFrameSplitOverBuffers) {
  ASSERT_EQ(parse({seg(0, 7), seg(100, 9), seg(200, 40)}), RxError::kNone);
  ASSERT_EQ(buffer.header_space.parts().size(), 2u);
  EXPECT_EQ(buffer.frame_capacity, 4u + 40u);
  std::vector<uint8_t> frame = pattern(44);
  ASSERT_TRUE(copy_frame(buffer, frame));
  buffer.header = NetHeader{};
  buffer.header.flags = kHeaderDataValid;
  EXPECT_EQ(finish_rx(buffer, 44, kAllFeatures), 12u + 44u);

  // Header: 7 bytes at 0, 5 at 100; frame: 4 more there, then 40 at 200.
  std::vector<uint8_t> header_bytes = guest_bytes(0, 7);
  std::vector<uint8_t> rest = guest_bytes(100, 5);
  header_bytes.insert(header_bytes.end(), rest.begin(), rest.end());
  NetHeader written;
  std::memcpy(&written, header_bytes.data(), sizeof(written));
  EXPECT_EQ(written.flags, kHeaderDataValid);
  EXPECT_EQ(written.num_buffers, 1);
  std::vector<uint8_t> got = guest_bytes(105, 4);
  std::vector<uint8_t> tail = guest_bytes(200, 40);
  got.insert(got.end(), tail.begin(), tail.end());
  EXPECT_EQ(got, frame);
}

TEST_F(RxBufferTest, ChecksumFlagsOnlyReachAGuestThatNegotiatedThem) {
  ASSERT_EQ(parse({seg(0, 12 + 100)}), RxError::kNone);
  buffer.header.flags = kHeaderNeedsCsum;
  buffer.header.num_buffers = 7;
  EXPECT_EQ(finish_rx(buffer, 60, kAllFeatures & ~feature_bit(feature::kGuestCsum)), 72u);
  EXPECT_EQ(guest_header(0).flags, 0);
  EXPECT_EQ(guest_header(0).num_buffers, 1);
}

TEST_F(RxBufferTest, GsoFrameTheGuestDidNotAcceptIsNotDelivered) {
  ASSERT_EQ(parse({seg(0, 12 + 100)}), RxError::kNone);
  buffer.header.gso_type = kGsoTcpV4;
  EXPECT_EQ(finish_rx(buffer, 60, kAllFeatures & ~feature_bit(feature::kGuestTso4)), 0u);
  EXPECT_EQ(finish_rx(buffer, 60, kAllFeatures), 72u);
  buffer.header.gso_type = kGsoUdp;
  EXPECT_EQ(finish_rx(buffer, 60, kAllFeatures), 0u);
  buffer.header.gso_type = kGsoNone;
  EXPECT_EQ(finish_rx(buffer, 101, kAllFeatures), 0u);  // more than the buffer holds
}

TEST_F(RxBufferTest, ReadOnlyBufferIsRefused) {
  virtio::DescriptorChain chain(0, {seg(0, 12)}, {seg(12, 100)});
  EXPECT_EQ(parse_rx_chain(chain, buffer), RxError::kReadOnlySegment);
}

TEST_F(RxBufferTest, ChainWithoutRoomForHeaderAndEthernetIsRefused) {
  EXPECT_EQ(parse({}), RxError::kShortChain);
  EXPECT_EQ(parse({seg(0, 11)}), RxError::kShortChain);
  EXPECT_EQ(parse({seg(0, 12 + 13)}), RxError::kShortChain);
  EXPECT_EQ(parse({seg(0, 12 + 14)}), RxError::kNone);
}

TEST_F(RxBufferTest, TooManyBuffersIsRefused) {
  std::vector<virtio::Segment> chain{seg(0, 12)};
  for (size_t i = 0; i < kMaxChainSegments; ++i) chain.push_back(seg(12 + i, 1));
  EXPECT_EQ(parse(chain), RxError::kNone);
  chain.push_back(seg(12 + kMaxChainSegments, 1));
  EXPECT_EQ(parse(chain), RxError::kTooManySegments);
}

}  // namespace
}  // namespace kvrun::vmm::net
