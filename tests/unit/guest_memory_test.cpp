#include "vmm/memory/guest_memory.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "common/error.h"
#include "tests/unit/boot_test_util.h"
#include "vmm/boot/layout.h"

namespace kvrun::vmm {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

using test_util::error_of;

TEST(GuestMemoryTest, RejectsBadSizes) {
  EXPECT_HAS_SUBSTR(error_of([] { GuestMemory::create(0); }), "must not be zero");
  EXPECT_HAS_SUBSTR(error_of([] { GuestMemory::create(16 * kMiB + 1); }),
                    "not a multiple of 4 KiB");
  EXPECT_EQ(error_of([] { GuestMemory::create(8 * kMiB); }),
            "guest memory 8 MiB is below the 16 MiB minimum");
  EXPECT_HAS_SUBSTR(error_of([] { GuestMemory::create(UINT64_MAX & ~0xfffull); }), "too large");
}

TEST(GuestMemoryTest, SmallGuestHasOneLowRegion) {
  GuestMemory memory = GuestMemory::create(128 * kMiB);
  ASSERT_EQ(memory.regions().size(), 1u);
  EXPECT_EQ(memory.regions()[0].guest_base, 0u);
  EXPECT_EQ(memory.regions()[0].size, 128 * kMiB);
  EXPECT_EQ(memory.total_size(), 128 * kMiB);
}

TEST(GuestMemoryTest, BoundsAtTheEdgeOfRam) {
  GuestMemory memory = GuestMemory::create(16 * kMiB);
  const uint64_t end = 16 * kMiB;
  EXPECT_TRUE(memory.contains(0, end));
  EXPECT_TRUE(memory.contains(end - 1, 1));
  EXPECT_TRUE(memory.contains(end, 0));
  EXPECT_FALSE(memory.contains(end, 1));
  EXPECT_FALSE(memory.contains(end - 1, 2));
  EXPECT_FALSE(memory.contains(0, end + 1));
  EXPECT_EQ(memory.slice(end - 8, 8).size(), 8u);
  EXPECT_HAS_SUBSTR(error_of([&] { memory.slice(end - 4, 8); }),
                    "guest range [0xfffffc, 0x1000004) is outside guest memory");
}

TEST(GuestMemoryTest, WrappingRangesAreRejected) {
  GuestMemory memory = GuestMemory::create(16 * kMiB);
  EXPECT_FALSE(memory.contains(0x1000, UINT64_MAX));
  EXPECT_FALSE(memory.contains(UINT64_MAX, 2));
  EXPECT_FALSE(memory.contains(UINT64_MAX - 0xf, 0x20));
  EXPECT_HAS_SUBSTR(error_of([&] { memory.slice(UINT64_MAX - 0xf, 0x20); }),
                    "0xfffffffffffffff0+0x20");
  std::array<uint8_t, 4> buf{};
  EXPECT_THROW(memory.read(UINT64_MAX - 1, buf), Error);
}

TEST(GuestMemoryTest, LargeGuestIsSplitAroundTheMmioGap) {
  GuestMemory memory = GuestMemory::create(5 * kGiB);
  ASSERT_EQ(memory.regions().size(), 2u);
  const MemoryRegion& low = memory.regions()[0];
  const MemoryRegion& high = memory.regions()[1];
  EXPECT_EQ(low.guest_base, 0u);
  EXPECT_EQ(low.size, layout::kMmioGapStart);
  EXPECT_EQ(high.guest_base, 4 * kGiB);
  EXPECT_EQ(high.size, 5 * kGiB - layout::kMmioGapStart);
  EXPECT_EQ(memory.total_size(), 5 * kGiB);

  EXPECT_TRUE(memory.contains(layout::kMmioGapStart - 4, 4));
  EXPECT_FALSE(memory.contains(layout::kMmioGapStart, 1));
  EXPECT_FALSE(memory.contains(layout::kMmioGapStart + 0x1000, 4));
  EXPECT_FALSE(memory.contains(4 * kGiB - 1, 1));
  // A range may not run from the low region across the gap into the high region.
  EXPECT_FALSE(memory.contains(layout::kMmioGapStart - 4, 4 * kGiB));
  EXPECT_TRUE(memory.contains(4 * kGiB, high.size));
  EXPECT_FALSE(memory.contains(4 * kGiB, high.size + 1));
  EXPECT_FALSE(memory.contains(4 * kGiB + high.size, 1));
}

TEST(GuestMemoryTest, HighRegionIsAddressedFromFourGiB) {
  GuestMemory memory = GuestMemory::create(5 * kGiB);
  const GuestAddress gpa = 4 * kGiB + 0x1234;
  memory.write_obj<uint64_t>(gpa, 0x1122334455667788ull);
  EXPECT_EQ(memory.read_obj<uint64_t>(gpa), 0x1122334455667788ull);
  const MemoryRegion& high = memory.regions()[1];
  uint64_t via_host;
  std::memcpy(&via_host, high.host + 0x1234, sizeof(via_host));
  EXPECT_EQ(via_host, 0x1122334455667788ull);
  // Nothing leaked into the low region at the same offset.
  EXPECT_EQ(memory.read_obj<uint64_t>(0x1234), 0u);
}

TEST(GuestMemoryTest, ReadWriteRoundTrip) {
  GuestMemory memory = GuestMemory::create(16 * kMiB);
  const std::array<uint8_t, 5> in{1, 2, 3, 4, 5};
  memory.write(0x2000, in);
  std::array<uint8_t, 5> out{};
  memory.read(0x2000, out);
  EXPECT_EQ(in, out);
  EXPECT_THROW(memory.write(16 * kMiB - 2, in), Error);
}

TEST(GuestMemoryTest, MoveKeepsTheMapping) {
  GuestMemory memory = GuestMemory::create(16 * kMiB);
  memory.write_obj<uint32_t>(0x100, 0xdeadbeef);
  GuestMemory moved = std::move(memory);
  EXPECT_EQ(moved.read_obj<uint32_t>(0x100), 0xdeadbeefu);
}

// An access that a bounds check missed must fault, not land in the VMM's own memory.
TEST(HostileGuestMemoryTest, EachRegionSitsBetweenGuardRegions) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  GuestMemory memory = GuestMemory::create(5 * kGiB);
  ASSERT_EQ(memory.regions().size(), 2u);
  for (const MemoryRegion& region : memory.regions()) {
    volatile uint8_t* first = region.host;
    volatile uint8_t* last = region.host + region.size - 1;
    *first = 1;
    *last = 2;
    EXPECT_DEATH(first[-1] = 3, "");
    EXPECT_DEATH(last[1] = 4, "");
    EXPECT_DEATH(last[kGuardBytes] = 5, "");
    EXPECT_DEATH((void)first[-static_cast<ptrdiff_t>(kGuardBytes)], "");
  }
}

}  // namespace
}  // namespace kvrun::vmm
