#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/unit/boot_test_util.h"
#include "tests/unit/elf_image.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {
namespace {

using test_util::ElfImage;
using test_util::error_of;
using test_util::Segment;

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kKernelVirt = 0xffffffff81000000ull;
constexpr uint64_t kKernelPhys = 0x1000000;

std::vector<uint8_t> pattern(size_t size, uint8_t seed) {
  std::vector<uint8_t> out(size);
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

// A vmlinux-shaped image: text at 16 MiB with a bss, plus a small second segment.
ElfImage vmlinux_like() {
  return ElfImage(kKernelPhys, {Segment{kKernelVirt, kKernelPhys, pattern(0x300, 1), 0x1800},
                                Segment{kKernelVirt + 0x200000, kKernelPhys + 0x200000,
                                        pattern(0x40, 9), 0x40}});
}

class ElfLoaderTest : public ::testing::Test {
 protected:
  GuestMemory memory = GuestMemory::create(64 * kMiB);

  std::string load_error(const std::vector<uint8_t>& image) {
    return error_of([&] { load_elf_kernel(memory, image); });
  }
};

TEST_F(ElfLoaderTest, LoadsSegmentsAtPhysicalAddressesAndZeroesBss) {
  // Leftovers where the bss goes must not survive the load.
  std::vector<uint8_t> junk(0x2000, 0xaa);
  memory.write(kKernelPhys, junk);

  const ElfImage elf = vmlinux_like();
  const LoadedKernel kernel = load_elf_kernel(memory, elf.bytes());

  EXPECT_EQ(kernel.entry, kKernelPhys);
  EXPECT_EQ(kernel.end, kKernelPhys + 0x200000 + 0x1000);  // page-aligned end of segment 1
  EXPECT_FALSE(kernel.setup.has_value());

  std::vector<uint8_t> text(0x300);
  memory.read(kKernelPhys, text);
  EXPECT_EQ(text, pattern(0x300, 1));
  std::vector<uint8_t> bss(0x1800 - 0x300);
  memory.read(kKernelPhys + 0x300, bss);
  EXPECT_EQ(bss, std::vector<uint8_t>(bss.size(), 0));
  // Past memsz, memory is not the loader's business.
  EXPECT_EQ(memory.read_obj<uint8_t>(kKernelPhys + 0x1800), 0xaa);

  std::vector<uint8_t> data(0x40);
  memory.read(kKernelPhys + 0x200000, data);
  EXPECT_EQ(data, pattern(0x40, 9));
}

TEST_F(ElfLoaderTest, VirtualEntryIsTranslatedThroughItsSegment) {
  ElfImage elf = vmlinux_like();
  elf.ehdr.e_entry = kKernelVirt + 0x200010;
  EXPECT_EQ(load_elf_kernel(memory, elf.bytes()).entry, kKernelPhys + 0x200010);
}

TEST_F(ElfLoaderTest, EntryOutsideEverySegmentIsRejected) {
  ElfImage elf = vmlinux_like();
  elf.ehdr.e_entry = 0x5000000;
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "entry point 0x5000000 is not inside");
}

TEST_F(ElfLoaderTest, NonLoadSegmentsAreIgnored) {
  ElfImage elf(kKernelPhys, {Segment{0, 0, pattern(8, 3), 8, PT_NOTE},
                             Segment{kKernelVirt, kKernelPhys, pattern(16, 5), 16}});
  const LoadedKernel kernel = load_elf_kernel(memory, elf.bytes());
  EXPECT_EQ(kernel.end, kKernelPhys + 0x1000);
  EXPECT_EQ(memory.read_obj<uint64_t>(0), 0u);
}

TEST_F(ElfLoaderTest, TruncatedHeader) {
  std::vector<uint8_t> image = vmlinux_like().bytes();
  image.resize(20);
  EXPECT_HAS_SUBSTR(load_error(image), "truncated ELF header (20 bytes)");
}

TEST_F(ElfLoaderTest, BadMagic) {
  std::vector<uint8_t> image = vmlinux_like().bytes();
  image[1] = 'X';
  EXPECT_EQ(load_error(image), "bad ELF magic");
}

TEST_F(ElfLoaderTest, WrongClass) {
  ElfImage elf = vmlinux_like();
  elf.ehdr.e_ident[EI_CLASS] = ELFCLASS32;
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "not a 64-bit ELF");
}

TEST_F(ElfLoaderTest, WrongMachine) {
  ElfImage elf = vmlinux_like();
  elf.ehdr.e_machine = EM_AARCH64;
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "not an x86-64 ELF (machine 183)");
}

TEST_F(ElfLoaderTest, NotAnExecutable) {
  ElfImage elf = vmlinux_like();
  elf.ehdr.e_type = ET_DYN;
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "not an executable ELF");
}

TEST_F(ElfLoaderTest, ProgramHeadersOutsideTheFile) {
  ElfImage elf = vmlinux_like();
  elf.ehdr.e_phoff = 0xfffffffffffffff0ull;
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "program headers");
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "lie outside the file");

  ElfImage many = vmlinux_like();
  many.ehdr.e_phnum = 1000;
  EXPECT_HAS_SUBSTR(load_error(many.bytes()), "lie outside the file");
}

TEST_F(ElfLoaderTest, UnexpectedProgramHeaderSize) {
  ElfImage elf = vmlinux_like();
  elf.ehdr.e_phentsize = 32;
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "program header size 32");
}

TEST_F(ElfLoaderTest, SegmentOutsideTheFile) {
  ElfImage elf = vmlinux_like();
  elf.phdrs[1].p_offset = 0xffffffffffffff00ull;  // offset + filesz wraps
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "ELF segment 1");
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "lies outside the file");

  ElfImage longer = vmlinux_like();
  longer.phdrs[0].p_filesz = 0x10000;
  longer.phdrs[0].p_memsz = 0x10000;
  EXPECT_HAS_SUBSTR(load_error(longer.bytes()), "ELF segment 0");
  EXPECT_HAS_SUBSTR(load_error(longer.bytes()), "lies outside the file");
}

TEST_F(ElfLoaderTest, FileSizeAboveMemorySize) {
  ElfImage elf = vmlinux_like();
  elf.phdrs[0].p_memsz = 0x100;
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "file size 0x300 above its memory size 0x100");
}

TEST_F(ElfLoaderTest, SegmentOutsideGuestMemory) {
  ElfImage elf = vmlinux_like();
  elf.phdrs[1].p_paddr = 64 * kMiB - 0x20;  // straddles the end of RAM
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()),
                    "ELF segment 1 [0x3ffffe0, 0x4000020) lies outside guest memory");

  ElfImage wraps = vmlinux_like();
  wraps.phdrs[0].p_memsz = 0xffffffffffffff00ull;
  EXPECT_HAS_SUBSTR(load_error(wraps.bytes()), "lies outside guest memory");
}

TEST_F(ElfLoaderTest, SegmentBelowOneMiBIsRejected) {
  // Would overwrite the zero page and the page tables.
  ElfImage elf = vmlinux_like();
  elf.phdrs[0].p_paddr = 0x7000;
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "ELF segment 0 at 0x7000 is below 0x100000");
}

TEST_F(ElfLoaderTest, NoLoadableSegments) {
  ElfImage elf(kKernelPhys, {Segment{0, 0, pattern(8, 3), 8, PT_NOTE}});
  EXPECT_EQ(load_error(elf.bytes()), "ELF has no loadable segments");
}

TEST_F(ElfLoaderTest, NothingIsCopiedWhenALaterSegmentIsBad) {
  ElfImage elf = vmlinux_like();
  elf.phdrs[1].p_paddr = 1ull << 40;
  EXPECT_HAS_SUBSTR(load_error(elf.bytes()), "outside guest memory");
  EXPECT_EQ(memory.read_obj<uint64_t>(kKernelPhys), 0u);
}

}  // namespace
}  // namespace kvrun::vmm
