// The per-stream buffer: bytes come out in order across the wrap, it never holds more than its
// capacity, and it holds no memory while empty.
#include "vmm/devices/virtio/vsock/byte_ring.h"

#include <gtest/gtest.h>

#include <string>

namespace kvrun::vmm::vsock {
namespace {

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string contents(const ByteRing& ring) {
  std::string out;
  for (const auto& part : ring.front()) out.append(part.begin(), part.end());
  return out;
}

TEST(ByteRing, KeepsOrderAcrossTheWrap) {
  ByteRing ring(8);
  ASSERT_TRUE(ring.push(bytes("abcdef")));
  ring.consume(4);
  ASSERT_TRUE(ring.push(bytes("ghijkl")));  // wraps: "ef" at the end, "ghijkl" from the start
  EXPECT_EQ(ring.size(), 8u);
  EXPECT_EQ(contents(ring), "efghijkl");
  EXPECT_FALSE(ring.front()[1].empty());
  ring.consume(3);
  EXPECT_EQ(contents(ring), "hijkl");
}

TEST(ByteRing, RefusesWhatDoesNotFitAndKeepsWhatItHas) {
  ByteRing ring(8);
  ASSERT_TRUE(ring.push(bytes("abcde")));
  EXPECT_FALSE(ring.push(bytes("fghi")));  // one byte too many: nothing taken
  EXPECT_EQ(contents(ring), "abcde");
  EXPECT_TRUE(ring.push(bytes("fgh")));
  EXPECT_EQ(ring.free_space(), 0u);
  EXPECT_FALSE(ring.push(bytes("x")));
}

TEST(ByteRing, HoldsMemoryOnlyWhileNotEmpty) {
  ByteRing ring(1 << 20);
  EXPECT_EQ(ring.allocated(), 0u);
  ASSERT_TRUE(ring.push(bytes("data")));
  EXPECT_EQ(ring.allocated(), 1u << 20);
  ring.consume(100);  // more than it holds: clamps
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.allocated(), 0u);
}

TEST(ByteRing, StreamingManyTimesItsCapacityNeverGrowsIt) {
  ByteRing ring(4096);
  std::string expected;
  uint64_t in = 0, out = 0;
  for (int round = 0; round < 10000; ++round) {
    std::string chunk(1000 + round % 37, '\0');
    for (char& c : chunk) c = static_cast<char>(in++ % 251);
    if (!ring.push(bytes(chunk))) {
      in -= chunk.size();
    }
    const std::string held = contents(ring);
    for (size_t i = 0; i < std::min<size_t>(held.size(), 900); ++i)
      ASSERT_EQ(static_cast<uint8_t>(held[i]), (out + i) % 251);
    const size_t take = std::min<size_t>(held.size(), 900);
    ring.consume(take);
    out += take;
    ASSERT_LE(ring.size(), ring.capacity());
    ASSERT_LE(ring.allocated(), 4096u);
  }
  EXPECT_GT(out, 1000u * 4096u);
}

}  // namespace
}  // namespace kvrun::vmm::vsock
