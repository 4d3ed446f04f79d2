#include "vmm/devices/virtio/net/rx_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "vmm/devices/virtio/net/offloads.h"

namespace kvrun::vmm::net {
namespace {

constexpr GuestAddress kBuf = 0x20000;
const uint64_t kAllFeatures = offered_features(~0u);

class RxBufferTest : public ::testing::Test {
 protected:
  GuestMemory memory = GuestMemory::create(16 << 20);
  RxBuffer buffer;

  RxError parse(std::vector<ChainSegment> chain) { return parse_rx_chain(memory, chain, buffer); }
  std::vector<uint8_t> guest_bytes(GuestAddress at, size_t n) {
    std::vector<uint8_t> out(n);
    memory.read(at, out);
    return out;
  }
};

std::vector<uint8_t> pattern(size_t n) {
  std::vector<uint8_t> bytes(n);
  std::iota(bytes.begin(), bytes.end(), uint8_t{1});
  return bytes;
}

TEST_F(RxBufferTest, BigBufferHoldsAnyFrameAndIsReadIntoDirectly) {
  // What a guest with GUEST_TSO4 and no MRG_RXBUF posts: a header buffer and 17 pages.
  std::vector<ChainSegment> chain{{kBuf, 12, true}};
  for (int i = 0; i < 17; ++i) chain.push_back({kBuf + 0x1000 + i * 0x1000u, 0x1000, true});
  ASSERT_EQ(parse(chain), RxError::kNone);
  EXPECT_TRUE(buffer.holds_any_frame());
  EXPECT_EQ(buffer.frame_capacity, kMaxFrameBytes);  // the part past 64 KiB is not used
  EXPECT_EQ(buffer.iov[0].iov_base, &buffer.header);
  ASSERT_EQ(buffer.header_iov.size(), 1u);
  EXPECT_EQ(buffer.header_iov[0].iov_len, 12u);
  size_t total = 0;
  for (const iovec& v : buffer.iov) total += v.iov_len;
  EXPECT_EQ(total, kNetHeaderBytes + kMaxFrameBytes);
}

TEST_F(RxBufferTest, SmallBufferTakesACopyWhenTheFrameFits) {
  ASSERT_EQ(parse({{kBuf, 12 + 1514, true}}), RxError::kNone);
  EXPECT_FALSE(buffer.holds_any_frame());
  EXPECT_EQ(buffer.frame_capacity, 1514u);
  std::vector<uint8_t> frame = pattern(1514);
  ASSERT_TRUE(copy_frame(buffer, frame));
  EXPECT_EQ(guest_bytes(kBuf + 12, 1514), frame);
  std::vector<uint8_t> big = pattern(1515);
  EXPECT_FALSE(copy_frame(buffer, big));
}

TEST_F(RxBufferTest, HeaderAndFrameSplitOverBuffers) {
  ASSERT_EQ(parse({{kBuf, 7, true}, {kBuf + 100, 9, true}, {kBuf + 200, 40, true}}),
            RxError::kNone);
  ASSERT_EQ(buffer.header_iov.size(), 2u);
  EXPECT_EQ(buffer.frame_capacity, 4u + 40u);
  std::vector<uint8_t> frame = pattern(44);
  ASSERT_TRUE(copy_frame(buffer, frame));
  buffer.header = NetHeader{};
  buffer.header.flags = kHeaderDataValid;
  EXPECT_EQ(finish_rx(buffer, 44, kAllFeatures), 12u + 44u);

  // Header: 7 bytes at kBuf, 5 at kBuf + 100; frame: 4 more there, then 40 at kBuf + 200.
  std::vector<uint8_t> header_bytes = guest_bytes(kBuf, 7);
  std::vector<uint8_t> rest = guest_bytes(kBuf + 100, 5);
  header_bytes.insert(header_bytes.end(), rest.begin(), rest.end());
  NetHeader written;
  std::memcpy(&written, header_bytes.data(), sizeof(written));
  EXPECT_EQ(written.flags, kHeaderDataValid);
  EXPECT_EQ(written.num_buffers, 1);
  std::vector<uint8_t> got = guest_bytes(kBuf + 105, 4);
  std::vector<uint8_t> tail = guest_bytes(kBuf + 200, 40);
  got.insert(got.end(), tail.begin(), tail.end());
  EXPECT_EQ(got, frame);
}

TEST_F(RxBufferTest, ChecksumFlagsOnlyReachAGuestThatNegotiatedThem) {
  ASSERT_EQ(parse({{kBuf, 12 + 100, true}}), RxError::kNone);
  buffer.header.flags = kHeaderNeedsCsum;
  buffer.header.num_buffers = 7;
  EXPECT_EQ(finish_rx(buffer, 60, kAllFeatures & ~feature_bit(feature::kGuestCsum)), 72u);
  NetHeader written = memory.read_obj<NetHeader>(kBuf);
  EXPECT_EQ(written.flags, 0);
  EXPECT_EQ(written.num_buffers, 1);
}

TEST_F(RxBufferTest, GsoFrameTheGuestDidNotAcceptIsNotDelivered) {
  ASSERT_EQ(parse({{kBuf, 12 + 100, true}}), RxError::kNone);
  buffer.header.gso_type = kGsoTcpV4;
  EXPECT_EQ(finish_rx(buffer, 60, kAllFeatures & ~feature_bit(feature::kGuestTso4)), 0u);
  EXPECT_EQ(finish_rx(buffer, 60, kAllFeatures), 72u);
  buffer.header.gso_type = kGsoUdp;
  EXPECT_EQ(finish_rx(buffer, 60, kAllFeatures), 0u);
  buffer.header.gso_type = kGsoNone;
  EXPECT_EQ(finish_rx(buffer, 101, kAllFeatures), 0u);  // more than the buffer holds
}

TEST_F(RxBufferTest, ReadOnlyBufferIsRefused) {
  EXPECT_EQ(parse({{kBuf, 12, true}, {kBuf + 12, 100, false}}), RxError::kReadOnlySegment);
}

TEST_F(RxBufferTest, BufferOutsideGuestMemoryIsRefused) {
  EXPECT_EQ(parse({{memory.total_size() - 8, 100, true}}), RxError::kBadAddress);
  EXPECT_EQ(parse({{std::numeric_limits<GuestAddress>::max(), 2, true}}), RxError::kBadAddress);
  EXPECT_EQ(parse({{kBuf, std::numeric_limits<uint32_t>::max(), true}}), RxError::kBadAddress);
}

TEST_F(RxBufferTest, ChainWithoutRoomForHeaderAndEthernetIsRefused) {
  EXPECT_EQ(parse({}), RxError::kShortChain);
  EXPECT_EQ(parse({{kBuf, 11, true}}), RxError::kShortChain);
  EXPECT_EQ(parse({{kBuf, 12 + 13, true}}), RxError::kShortChain);
  EXPECT_EQ(parse({{kBuf, 12 + 14, true}}), RxError::kNone);
}

TEST_F(RxBufferTest, TooManyBuffersIsRefused) {
  std::vector<ChainSegment> chain{{kBuf, 12, true}};
  for (size_t i = 0; i < kMaxChainSegments; ++i) chain.push_back({kBuf + 12 + i, 1, true});
  EXPECT_EQ(parse(chain), RxError::kNone);
  chain.push_back({kBuf + 12 + kMaxChainSegments, 1, true});
  EXPECT_EQ(parse(chain), RxError::kTooManySegments);
}

}  // namespace
}  // namespace kvrun::vmm::net
