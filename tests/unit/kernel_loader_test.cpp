// load_kernel() and load_initramfs(): the file-level entry points and where things land.
#include "vmm/boot/kernel_loader.h"

#include <asm/bootparam.h>
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/unit/boot_test_util.h"
#include "tests/unit/bzimage_image.h"
#include "tests/unit/elf_image.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {
namespace {

using test_util::error_of;
using test_util::TempFile;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

// The smallest loadable vmlinux: one 4 KiB segment at 16 MiB.
std::vector<uint8_t> tiny_vmlinux(uint16_t machine = EM_X86_64) {
  test_util::ElfImage image(0x1000000, {{.vaddr = 0xffffffff81000000ull,
                                         .paddr = 0x1000000,
                                         .data = std::vector<uint8_t>(16, 0x90),
                                         .memsz = 0x1000}});
  image.ehdr.e_machine = machine;
  return image.bytes();
}

std::vector<uint8_t> tiny_bzimage() {
  setup_header hdr{};
  hdr.setup_sects = 1;
  hdr.header = 0x53726448;
  hdr.version = 0x020f;
  hdr.loadflags = LOADED_HIGH;
  hdr.xloadflags = XLF_KERNEL_64;
  hdr.initrd_addr_max = 0x3ffffff;
  return test_util::make_bzimage(hdr, std::vector<uint8_t>(64, 0xf4));
}

std::vector<uint8_t> filled(size_t size, uint8_t value) {
  return std::vector<uint8_t>(size, value);
}

TEST(LoadKernelTest, MissingFileNamesThePath) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  EXPECT_EQ(error_of([&] { load_kernel(memory, "/nonexistent/vmlinux"); }),
            "kernel /nonexistent/vmlinux: No such file or directory");
}

TEST(LoadKernelTest, EmptyFileAndDirectoryAreRejected) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  const TempFile empty({});
  EXPECT_EQ(error_of([&] { load_kernel(memory, empty.path()); }),
            "kernel " + empty.path().string() + ": file is empty");
  EXPECT_HAS_SUBSTR(error_of([&] { load_kernel(memory, "/"); }), "kernel /: not a regular file");
}

TEST(LoadKernelTest, UnknownFormat) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  const TempFile junk(filled(4096, 0x42));
  EXPECT_EQ(error_of([&] { load_kernel(memory, junk.path()); }),
            "kernel " + junk.path().string() + ": neither an ELF vmlinux nor a bzImage");
}

TEST(LoadKernelTest, DetectsElf) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  const TempFile file(tiny_vmlinux());
  const LoadedKernel kernel = load_kernel(memory, file.path());
  EXPECT_EQ(kernel.entry, 0x1000000u);
  EXPECT_FALSE(kernel.setup.has_value());
  EXPECT_EQ(memory.read_obj<uint8_t>(0x1000000), 0x90);
}

TEST(LoadKernelTest, DetectsBzImage) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  const TempFile file(tiny_bzimage());
  const LoadedKernel kernel = load_kernel(memory, file.path());
  EXPECT_EQ(kernel.entry, 0x100200u);
  ASSERT_TRUE(kernel.setup.has_value());
  EXPECT_EQ(kernel.setup->initrd_addr_max, 0x3ffffffu);
  EXPECT_EQ(memory.read_obj<uint8_t>(0x100000), 0xf4);
}

TEST(LoadKernelTest, FormatErrorsCarryThePath) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  const TempFile file(tiny_vmlinux(EM_386));
  EXPECT_EQ(error_of([&] { load_kernel(memory, file.path()); }),
            "kernel " + file.path().string() + ": not an x86-64 ELF (machine 3)");
}

LoadedKernel elf_kernel_ending_at(GuestAddress end) { return {0x1000000, end, std::nullopt}; }

TEST(LoadInitramfsTest, PlacedPageAlignedAtTheTopOfLowRam) {
  GuestMemory memory = GuestMemory::create(128 * kMiB);
  const std::vector<uint8_t> contents = filled(3 * kMiB + 100, 0x5a);
  const TempFile file(contents);
  const LoadedInitrd initrd = load_initramfs(memory, file.path(), elf_kernel_ending_at(0x2000000));
  EXPECT_EQ(initrd.size, contents.size());
  EXPECT_EQ(initrd.address % kPageSize, 0u);
  EXPECT_LE(initrd.address + initrd.size, 128 * kMiB);
  EXPECT_GT(initrd.address + initrd.size + kPageSize, 128 * kMiB);  // as high as it can go
  std::vector<uint8_t> in_guest(contents.size());
  memory.read(initrd.address, in_guest);
  EXPECT_EQ(in_guest, contents);
}

TEST(LoadInitramfsTest, StaysBelowTheDefaultAddrMaxInABigGuest) {
  GuestMemory memory = GuestMemory::create(5 * kGiB);
  const TempFile file(filled(kMiB, 1));
  const LoadedInitrd initrd = load_initramfs(memory, file.path(), 0x2000000);
  EXPECT_EQ(initrd.address + initrd.size, kDefaultInitrdAddrMax + 1);
}

TEST(LoadInitramfsTest, RespectsTheKernelsInitrdAddrMax) {
  GuestMemory memory = GuestMemory::create(128 * kMiB);
  LoadedKernel kernel = elf_kernel_ending_at(0x200000);
  kernel.setup = setup_header{};
  kernel.setup->initrd_addr_max = 0x3ffffff;  // 64 MiB - 1
  const TempFile file(filled(kMiB, 1));
  const LoadedInitrd initrd = load_initramfs(memory, file.path(), kernel);
  EXPECT_EQ(initrd.address, 63 * kMiB);
  // A header that leaves it zero gets the protocol default, not "nowhere".
  kernel.setup->initrd_addr_max = 0;
  EXPECT_EQ(load_initramfs(memory, file.path(), kernel).address, 127 * kMiB);
}

TEST(LoadInitramfsTest, MayStartExactlyAtTheKernelEnd) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  const TempFile file(filled(16 * kMiB, 1));
  EXPECT_EQ(load_initramfs(memory, file.path(), 16 * kMiB).address, 16 * kMiB);
  const std::string error =
      error_of([&] { load_initramfs(memory, file.path(), 16 * kMiB + kPageSize); });
  EXPECT_EQ(error, "initramfs " + file.path().string() +
                       " (16 MiB) does not fit in guest memory below 0x2000000 above the "
                       "kernel's end at 0x1001000");
}

TEST(LoadInitramfsTest, LargerThanLowRam) {
  GuestMemory memory = GuestMemory::create(16 * kMiB);
  const TempFile file(filled(17 * kMiB, 1));
  EXPECT_HAS_SUBSTR(error_of([&] { load_initramfs(memory, file.path(), 0x200000); }),
                    "(17 MiB) does not fit in guest memory below 0x1000000");
}

TEST(LoadInitramfsTest, MissingFile) {
  GuestMemory memory = GuestMemory::create(16 * kMiB);
  EXPECT_EQ(error_of([&] { load_initramfs(memory, "/nonexistent/initrd", 0x200000); }),
            "initramfs /nonexistent/initrd: No such file or directory");
}

}  // namespace
}  // namespace kvrun::vmm
