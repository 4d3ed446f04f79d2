#include <asm/bootparam.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/unit/boot_test_util.h"
#include "tests/unit/bzimage_image.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {
namespace {

using test_util::error_of;
using test_util::kHeaderOffset;
using test_util::make_bzimage;

constexpr uint64_t kMiB = 1ull << 20;

std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(seed + i * 13);
  return out;
}

// What a current x86-64 kernel declares, trimmed to the fields the loader looks at.
setup_header modern_header() {
  setup_header hdr{};
  hdr.setup_sects = 4;
  hdr.boot_flag = 0xaa55;
  hdr.header = 0x53726448;
  hdr.version = 0x020f;
  hdr.loadflags = LOADED_HIGH;
  hdr.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
  hdr.kernel_alignment = 0x200000;
  hdr.relocatable_kernel = 1;
  hdr.cmdline_size = 2047;
  hdr.initrd_addr_max = 0x7fffffff;
  hdr.pref_address = 0x1000000;
  hdr.init_size = 0x400000;
  return hdr;
}

class BzImageLoaderTest : public ::testing::Test {
 protected:
  GuestMemory memory = GuestMemory::create(128 * kMiB);

  std::string load_error(const std::vector<uint8_t>& image) {
    return error_of([&] { load_bzimage(memory, image); });
  }
};

TEST_F(BzImageLoaderTest, LoadsProtectedModeKernelAtOneMiB) {
  const std::vector<uint8_t> kernel = pattern(0x3000, 5);
  const std::vector<uint8_t> image = make_bzimage(modern_header(), kernel);
  const LoadedKernel loaded = load_bzimage(memory, image);

  EXPECT_EQ(loaded.entry, 0x100200u);
  std::vector<uint8_t> in_guest(kernel.size());
  memory.read(0x100000, in_guest);
  EXPECT_EQ(in_guest, kernel);
  // The setup code itself is not loaded.
  EXPECT_EQ(memory.read_obj<uint8_t>(0x100000 - 1), 0);

  ASSERT_TRUE(loaded.setup.has_value());
  EXPECT_EQ(std::memcmp(&*loaded.setup, image.data() + kHeaderOffset, sizeof(setup_header)), 0);
  EXPECT_EQ(loaded.setup->cmdline_size, 2047u);
  // The decompressor owns [pref_address, pref_address + init_size).
  EXPECT_EQ(loaded.end, 0x1000000u + 0x400000u);
}

TEST_F(BzImageLoaderTest, ZeroSetupSectsMeansFour) {
  setup_header hdr = modern_header();
  hdr.setup_sects = 0;
  const std::vector<uint8_t> kernel = pattern(0x1000, 77);
  const std::vector<uint8_t> image = make_bzimage(hdr, kernel);
  ASSERT_EQ(image.size(), 5 * 512 + kernel.size());
  load_bzimage(memory, image);
  EXPECT_EQ(memory.read_obj<uint8_t>(0x100000), 77);
}

TEST_F(BzImageLoaderTest, KernelLargerThanInitSizeSetsTheEnd) {
  setup_header hdr = modern_header();
  hdr.pref_address = 0;
  hdr.init_size = 0x1000;
  const LoadedKernel loaded = load_bzimage(memory, make_bzimage(hdr, pattern(0x2345, 1)));
  EXPECT_EQ(loaded.end, 0x100000u + 0x3000u);
}

TEST_F(BzImageLoaderTest, BadMagic) {
  setup_header hdr = modern_header();
  hdr.header = 0x12345678;
  EXPECT_HAS_SUBSTR(load_error(make_bzimage(hdr, pattern(512, 1))), "\"HdrS\" missing at 0x202");
}

TEST_F(BzImageLoaderTest, TooSmallForAHeader) {
  EXPECT_HAS_SUBSTR(load_error(std::vector<uint8_t>(0x210, 0)), "too small for a bzImage");
}

TEST_F(BzImageLoaderTest, OldProtocol) {
  setup_header hdr = modern_header();
  hdr.version = 0x0205;
  EXPECT_HAS_SUBSTR(load_error(make_bzimage(hdr, pattern(512, 1))),
                    "boot protocol 2.05 is too old (need 2.06 or newer)");
}

TEST_F(BzImageLoaderTest, NotLoadedHigh) {
  setup_header hdr = modern_header();
  hdr.loadflags = 0;
  EXPECT_HAS_SUBSTR(load_error(make_bzimage(hdr, pattern(512, 1))), "zImage is not supported");
}

TEST_F(BzImageLoaderTest, No64BitEntry) {
  setup_header hdr = modern_header();
  hdr.xloadflags = XLF_CAN_BE_LOADED_ABOVE_4G;
  EXPECT_HAS_SUBSTR(load_error(make_bzimage(hdr, pattern(512, 1))), "no 64-bit entry point");
}

TEST_F(BzImageLoaderTest, FieldsPastTheDeclaredHeaderEndAreNotTrusted) {
  // An older kernel's header ends before xloadflags (0x236): what follows is setup code, so a
  // 64-bit flag there must not be believed.
  const setup_header hdr = modern_header();
  EXPECT_EQ(load_error(make_bzimage(hdr, pattern(512, 1))), "<no error>");
  EXPECT_HAS_SUBSTR(
      load_error(make_bzimage(hdr, pattern(512, 1), offsetof(setup_header, xloadflags))),
      "no 64-bit entry point");
}

TEST_F(BzImageLoaderTest, SetupSectorsPastTheEndOfTheFile) {
  std::vector<uint8_t> image = make_bzimage(modern_header(), {});
  image[kHeaderOffset + offsetof(setup_header, setup_sects)] = 200;
  EXPECT_HAS_SUBSTR(load_error(image), "setup code (200 sectors) leaves no kernel");
}

TEST_F(BzImageLoaderTest, DecompressionSpaceOutsideGuestMemory) {
  setup_header hdr = modern_header();
  hdr.init_size = 0xf000000;  // 240 MiB from 16 MiB in a 128 MiB guest
  EXPECT_HAS_SUBSTR(load_error(make_bzimage(hdr, pattern(512, 1))),
                    "kernel needs [0x1000000, 0x10000000) to decompress");
  hdr = modern_header();
  hdr.pref_address = 0xfffffffffffff000ull;
  EXPECT_HAS_SUBSTR(load_error(make_bzimage(hdr, pattern(512, 1))), "to decompress");
}

}  // namespace
}  // namespace kvrun::vmm
