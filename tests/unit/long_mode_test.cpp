#include "vmm/boot/long_mode.h"

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <vector>

#include "vmm/boot/layout.h"

namespace kvrun::vmm {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kPresent = 1;
constexpr uint64_t kWritable = 2;
constexpr uint64_t kLargePage = 0x80;
constexpr uint64_t kAddressMask = 0x000ffffffffff000ull;

// Walks 4-level paging from CR3 = kPml4Addr the way the CPU does; nullopt if not mapped
// (or mapped read-only, which the kernel's early code could not live with).
std::optional<uint64_t> translate(const GuestMemory& memory, uint64_t va) {
  uint64_t table = layout::kPml4Addr;
  for (int shift : {39, 30, 21}) {
    const uint64_t entry = memory.read_obj<uint64_t>(table + ((va >> shift) & 511) * 8);
    if ((entry & (kPresent | kWritable)) != (kPresent | kWritable)) return std::nullopt;
    if (shift == 21) {
      if ((entry & kLargePage) == 0) return std::nullopt;
      return (entry & 0x000fffffffe00000ull) | (va & 0x1fffff);
    }
    if (entry & kLargePage) return std::nullopt;  // no 1 GiB pages expected here
    table = entry & kAddressMask;
  }
  return std::nullopt;
}

TEST(PageTablesTest, IdentityMapsFourGiB) {
  GuestMemory memory = GuestMemory::create(64 * kMiB);
  write_identity_page_tables(memory);
  for (uint64_t va : std::initializer_list<uint64_t>{0, 0x1234, 2 * kMiB, 16 * kMiB + 0x200,
                                                     kGiB + 3, 3 * kGiB + kGiB / 2, 4 * kGiB - 1}) {
    EXPECT_EQ(translate(memory, va), std::optional<uint64_t>(va)) << std::hex << va;
  }
  EXPECT_EQ(translate(memory, 4 * kGiB), std::nullopt);
  EXPECT_EQ(translate(memory, 0xffffffff81000000ull), std::nullopt);
}

TEST(PageTablesTest, StaleEntriesAreCleared) {
  GuestMemory memory = GuestMemory::create(64 * kMiB);
  memory.write(layout::kPml4Addr, std::vector<uint8_t>(0x6000, 0xff));
  write_identity_page_tables(memory);
  EXPECT_EQ(memory.read_obj<uint64_t>(layout::kPml4Addr + 8), 0u);
  EXPECT_EQ(memory.read_obj<uint64_t>(layout::kPdptAddr + 4 * 8), 0u);
  EXPECT_EQ(translate(memory, 5 * kGiB), std::nullopt);
  EXPECT_EQ(translate(memory, 3 * kGiB), std::optional<uint64_t>(3 * kGiB));
}

TEST(GdtTest, KnownEntries) {
  EXPECT_EQ(gdt_entry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffull);
  EXPECT_EQ(gdt_entry(0xc093, 0, 0xfffff), 0x00cf93000000ffffull);
  EXPECT_EQ(gdt_entry(0, 0, 0), 0u);
  // Base and limit are scattered across the descriptor.
  EXPECT_EQ(gdt_entry(0xc093, 0x12345678, 0xabcde), 0x12ca93345678bcdeull);
}

TEST(GdtTest, WrittenAtItsAddressWithAZeroIdt) {
  GuestMemory memory = GuestMemory::create(64 * kMiB);
  memory.write(layout::kGdtAddr, std::vector<uint8_t>(0x40, 0xff));
  write_gdt(memory);
  const auto gdt = memory.read_obj<std::array<uint64_t, 4>>(layout::kGdtAddr);
  EXPECT_EQ(gdt[0], 0u);
  EXPECT_EQ(gdt[1], 0u);
  EXPECT_EQ(gdt[layout::kCodeSelector / 8], 0x00af9b000000ffffull);
  EXPECT_EQ(gdt[layout::kDataSelector / 8], 0x00cf93000000ffffull);
  EXPECT_EQ(memory.read_obj<uint64_t>(layout::kIdtAddr), 0u);
}

}  // namespace
}  // namespace kvrun::vmm
