#include "vmm/boot/boot_params.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include "tests/unit/boot_test_util.h"
#include "vmm/boot/layout.h"

namespace kvrun::vmm {
namespace {

using test_util::error_of;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;
constexpr uint32_t kE820Ram = 1;

// Offsets the boot protocol documents (Documentation/arch/x86/zero-page.rst and boot.rst); the
// kernel reads these bytes, whatever our headers say.
TEST(BootParamsLayoutTest, MatchesTheBootProtocol) {
  constexpr size_t hdr = offsetof(boot_params, hdr);
  EXPECT_EQ(sizeof(boot_params), 4096u);
  EXPECT_EQ(hdr, 0x1f1u);
  EXPECT_EQ(offsetof(boot_params, ext_ramdisk_image), 0x0c0u);
  EXPECT_EQ(offsetof(boot_params, ext_ramdisk_size), 0x0c4u);
  EXPECT_EQ(offsetof(boot_params, ext_cmd_line_ptr), 0x0c8u);
  EXPECT_EQ(offsetof(boot_params, e820_entries), 0x1e8u);
  EXPECT_EQ(offsetof(boot_params, e820_table), 0x2d0u);
  EXPECT_EQ(sizeof(boot_e820_entry), 20u);
  EXPECT_EQ(hdr + offsetof(setup_header, boot_flag), 0x1feu);
  EXPECT_EQ(hdr + offsetof(setup_header, header), 0x202u);
  EXPECT_EQ(hdr + offsetof(setup_header, version), 0x206u);
  EXPECT_EQ(hdr + offsetof(setup_header, type_of_loader), 0x210u);
  EXPECT_EQ(hdr + offsetof(setup_header, loadflags), 0x211u);
  EXPECT_EQ(hdr + offsetof(setup_header, ramdisk_image), 0x218u);
  EXPECT_EQ(hdr + offsetof(setup_header, ramdisk_size), 0x21cu);
  EXPECT_EQ(hdr + offsetof(setup_header, heap_end_ptr), 0x224u);
  EXPECT_EQ(hdr + offsetof(setup_header, cmd_line_ptr), 0x228u);
  EXPECT_EQ(hdr + offsetof(setup_header, initrd_addr_max), 0x22cu);
  EXPECT_EQ(hdr + offsetof(setup_header, xloadflags), 0x236u);
  EXPECT_EQ(hdr + offsetof(setup_header, cmdline_size), 0x238u);
  EXPECT_EQ(hdr + offsetof(setup_header, pref_address), 0x258u);
  EXPECT_EQ(hdr + offsetof(setup_header, init_size), 0x260u);
}

template <typename T>
T zero_page_field(const GuestMemory& memory, size_t offset) {
  return memory.read_obj<T>(layout::kZeroPageAddr + offset);
}

const LoadedKernel kElfKernel{0x1000000, 0x2000000, std::nullopt};

TEST(WriteBootParamsTest, ElfKernelGetsAFreshHeader) {
  GuestMemory memory = GuestMemory::create(128 * kMiB);
  // Leftovers must not leak into the new zero page.
  memory.write(layout::kZeroPageAddr, std::vector<uint8_t>(sizeof(boot_params), 0xee));

  write_boot_params(memory, kElfKernel, LoadedInitrd{0x7c00000, 0x123456}, "console=ttyS0");

  EXPECT_EQ(zero_page_field<uint16_t>(memory, 0x1fe), 0xaa55);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x202), 0x53726448u);
  EXPECT_EQ(zero_page_field<uint8_t>(memory, 0x210), 0xff);
  EXPECT_EQ(zero_page_field<uint8_t>(memory, 0x211), LOADED_HIGH | CAN_USE_HEAP);
  EXPECT_EQ(zero_page_field<uint16_t>(memory, 0x224), 0xfe00);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x228), layout::kCmdlineAddr);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x238), 13u);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x218), 0x7c00000u);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x21c), 0x123456u);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x0c0), 0u);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x0c4), 0u);
  EXPECT_EQ(zero_page_field<uint8_t>(memory, 0x000), 0);    // screen_info
  EXPECT_EQ(zero_page_field<uint8_t>(memory, 0x1ef), 0);    // sentinel
  EXPECT_EQ(zero_page_field<uint16_t>(memory, 0x206), 0u);  // no protocol version claimed
  EXPECT_EQ(zero_page_field<uint8_t>(memory, 0xfff), 0);    // last byte of the page

  const auto params = memory.read_obj<boot_params>(layout::kZeroPageAddr);
  const std::vector<boot_e820_entry> map = build_e820_map(memory);
  ASSERT_EQ(params.e820_entries, map.size());
  for (size_t i = 0; i < map.size(); ++i) {
    EXPECT_EQ(params.e820_table[i].addr, map[i].addr);
    EXPECT_EQ(params.e820_table[i].size, map[i].size);
    EXPECT_EQ(params.e820_table[i].type, map[i].type);
  }
}

TEST(WriteBootParamsTest, CommandLineIsNulTerminatedInGuestMemory) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  memory.write(layout::kCmdlineAddr, std::vector<uint8_t>(64, 'x'));
  const std::string cmdline = "console=ttyS0 panic=-1";
  write_boot_params(memory, kElfKernel, std::nullopt, cmdline);
  std::vector<uint8_t> in_guest(cmdline.size() + 1);
  memory.read(layout::kCmdlineAddr, in_guest);
  EXPECT_EQ(std::string(in_guest.begin(), in_guest.end() - 1), cmdline);
  EXPECT_EQ(in_guest.back(), 0);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x218), 0u);  // no initramfs
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x21c), 0u);
}

TEST(WriteBootParamsTest, InitrdAboveFourGiBUsesTheExtFields) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  write_boot_params(memory, kElfKernel, LoadedInitrd{0x123456000, 0x100001000}, "");
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x218), 0x23456000u);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x0c0), 0x1u);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x21c), 0x1000u);
  EXPECT_EQ(zero_page_field<uint32_t>(memory, 0x0c4), 0x1u);
}

TEST(WriteBootParamsTest, BzImageHeaderIsKeptAndCompleted) {
  GuestMemory memory = GuestMemory::create(64 * kMiB);
  setup_header hdr{};
  hdr.setup_sects = 27;
  hdr.version = 0x020f;
  hdr.loadflags = LOADED_HIGH | KASLR_FLAG;
  hdr.xloadflags = XLF_KERNEL_64;
  hdr.kernel_alignment = 0x200000;
  hdr.initrd_addr_max = 0x7fffffff;
  hdr.cmdline_size = 2047;
  hdr.init_size = 0x2000000;
  const LoadedKernel kernel{0x100200, 0x3000000, hdr};

  write_boot_params(memory, kernel, std::nullopt, "quiet");
  const auto params = memory.read_obj<boot_params>(layout::kZeroPageAddr);
  EXPECT_EQ(params.hdr.setup_sects, 27);
  EXPECT_EQ(params.hdr.version, 0x020f);
  EXPECT_EQ(params.hdr.kernel_alignment, 0x200000u);
  EXPECT_EQ(params.hdr.initrd_addr_max, 0x7fffffffu);
  EXPECT_EQ(params.hdr.init_size, 0x2000000u);
  EXPECT_EQ(params.hdr.loadflags, LOADED_HIGH | KASLR_FLAG | CAN_USE_HEAP);
  EXPECT_EQ(params.hdr.type_of_loader, 0xff);
  EXPECT_EQ(params.hdr.boot_flag, 0xaa55);
  EXPECT_EQ(params.hdr.header, 0x53726448u);
  EXPECT_EQ(params.hdr.cmd_line_ptr, layout::kCmdlineAddr);
}

TEST(WriteBootParamsTest, CommandLineLimits) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  const std::string longest(layout::kCmdlineMaxSize - 1, 'a');
  write_boot_params(memory, kElfKernel, std::nullopt, longest);
  EXPECT_EQ(memory.read_obj<uint8_t>(layout::kCmdlineAddr + longest.size()), 0);
  EXPECT_EQ(error_of([&] { write_boot_params(memory, kElfKernel, std::nullopt, longest + "a"); }),
            "kernel command line is 4096 bytes; the limit is 4095");

  // A bzImage declares its own, smaller limit.
  setup_header hdr{};
  hdr.cmdline_size = 255;
  const LoadedKernel bzimage{0x100200, 0x200000, hdr};
  write_boot_params(memory, bzimage, std::nullopt, std::string(255, 'b'));
  EXPECT_EQ(
      error_of([&] { write_boot_params(memory, bzimage, std::nullopt, std::string(256, 'b')); }),
      "kernel command line is 256 bytes; the limit is 255");

  EXPECT_HAS_SUBSTR(error_of([&] {
                      write_boot_params(memory, kElfKernel, std::nullopt,
                                        std::string_view("a\0b", 3));
                    }),
                    "contains a NUL byte");
}

// Sum of the RAM the map lists, and a check that no entry touches [3 GiB, 4 GiB).
uint64_t ram_listed(const std::vector<boot_e820_entry>& map) {
  uint64_t total = 0;
  for (const boot_e820_entry& entry : map) {
    EXPECT_EQ(entry.type, kE820Ram);
    const uint64_t end = entry.addr + entry.size;
    EXPECT_TRUE(end <= layout::kMmioGapStart || entry.addr >= layout::kMmioGapEnd)
        << "entry [" << entry.addr << ", " << end << ") overlaps the MMIO gap";
    EXPECT_FALSE(entry.addr < layout::kHighMemStart && end > layout::kEbdaStart)
        << "entry [" << entry.addr << ", " << end << ") covers the EBDA";
    total += entry.size;
  }
  return total;
}

TEST(E820Test, SmallGuest) {
  GuestMemory memory = GuestMemory::create(128 * kMiB);
  const std::vector<boot_e820_entry> map = build_e820_map(memory);
  ASSERT_EQ(map.size(), 2u);
  EXPECT_EQ(map[0].addr, 0u);
  EXPECT_EQ(map[0].size, layout::kEbdaStart);
  EXPECT_EQ(map[1].addr, layout::kHighMemStart);
  EXPECT_EQ(map[1].addr + map[1].size, 128 * kMiB);
  EXPECT_EQ(ram_listed(map), 128 * kMiB - (layout::kHighMemStart - layout::kEbdaStart));
}

TEST(E820Test, GuestAboveFourGiB) {
  GuestMemory memory = GuestMemory::create(5 * kGiB);
  const std::vector<boot_e820_entry> map = build_e820_map(memory);
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(map[1].addr + map[1].size, layout::kMmioGapStart);
  EXPECT_EQ(map[2].addr, 4 * kGiB);
  EXPECT_EQ(map[2].size, 2 * kGiB);
  EXPECT_EQ(ram_listed(map), 5 * kGiB - (layout::kHighMemStart - layout::kEbdaStart));
  // Every listed byte is backed by guest memory.
  for (const boot_e820_entry& entry : map) EXPECT_TRUE(memory.contains(entry.addr, entry.size));
}

}  // namespace
}  // namespace kvrun::vmm
