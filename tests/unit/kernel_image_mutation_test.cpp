// Kernel images are untrusted input: whatever bytes a header holds, loading either succeeds
// inside guest memory or throws kvrun::Error. Run under ASan/UBSan this catches any read or
// write the checks let through.
#include <asm/bootparam.h>
#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "common/error.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

std::vector<uint8_t> seed_elf() {
  Elf64_Ehdr ehdr{};
  std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
  ehdr.e_ident[EI_CLASS] = ELFCLASS64;
  ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
  ehdr.e_type = ET_EXEC;
  ehdr.e_machine = EM_X86_64;
  ehdr.e_entry = 0x1000000;
  ehdr.e_phoff = sizeof(ehdr);
  ehdr.e_phentsize = sizeof(Elf64_Phdr);
  ehdr.e_phnum = 2;
  std::vector<uint8_t> image(sizeof(ehdr) + 2 * sizeof(Elf64_Phdr) + 256, 0x90);
  std::memcpy(image.data(), &ehdr, sizeof(ehdr));
  for (int i = 0; i < 2; ++i) {
    Elf64_Phdr phdr{};
    phdr.p_type = PT_LOAD;
    phdr.p_offset = sizeof(ehdr) + 2 * sizeof(Elf64_Phdr) + i * 128;
    phdr.p_vaddr = 0xffffffff81000000ull + i * 0x100000;
    phdr.p_paddr = 0x1000000 + i * 0x100000;
    phdr.p_filesz = 128;
    phdr.p_memsz = 0x2000;
    std::memcpy(image.data() + sizeof(ehdr) + i * sizeof(phdr), &phdr, sizeof(phdr));
  }
  return image;
}

std::vector<uint8_t> seed_bzimage() {
  setup_header hdr{};
  hdr.setup_sects = 1;
  hdr.jump = static_cast<uint16_t>(0xeb | (0x1f1 + sizeof(hdr) - 0x202) << 8);
  hdr.header = 0x53726448;
  hdr.version = 0x020f;
  hdr.loadflags = LOADED_HIGH;
  hdr.xloadflags = XLF_KERNEL_64;
  hdr.pref_address = 0x1000000;
  hdr.init_size = 0x100000;
  std::vector<uint8_t> image(2 * 512 + 512, 0xf4);
  std::memcpy(image.data() + 0x1f1, &hdr, sizeof(hdr));
  return image;
}

// Overwrites a few bytes in [begin, end) with values biased towards the interesting extremes.
void mutate(std::vector<uint8_t>& image, size_t begin, size_t end, std::mt19937_64& rng) {
  const int count = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < count; ++i) {
    const size_t at = begin + rng() % (end - begin);
    switch (rng() % 4) {
      case 0:
        image[at] = 0xff;
        break;
      case 1:
        image[at] = 0;
        break;
      default:
        image[at] = static_cast<uint8_t>(rng());
    }
  }
  if (rng() % 8 == 0) image.resize(rng() % image.size());
}

template <typename Load>
void run_mutations(const std::vector<uint8_t>& seed, size_t begin, size_t end, Load load) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  std::mt19937_64 rng(0x6b7672756e);  // fixed: a failure must reproduce
  int loaded = 0;
  for (int round = 0; round < 5000; ++round) {
    std::vector<uint8_t> image = seed;
    mutate(image, begin, end, rng);
    try {
      const LoadedKernel kernel = load(memory, image);
      EXPECT_TRUE(memory.contains(kernel.entry, 1)) << "round " << round;
      EXPECT_LE(kernel.end, memory.total_size()) << "round " << round;
      ++loaded;
    } catch (const Error&) {
      // Rejected with a message: fine.
    }
  }
  // The mutations must leave some images loadable, or only the first check is being tested.
  EXPECT_GT(loaded, 0);
}

TEST(KernelImageMutationTest, ElfHeadersNeverEscapeTheChecks) {
  const std::vector<uint8_t> seed = seed_elf();
  run_mutations(seed, 0, sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr),
                [](GuestMemory& memory, std::span<const uint8_t> image) {
                  return load_elf_kernel(memory, image);
                });
}

TEST(KernelImageMutationTest, BzImageHeaderNeverEscapesTheChecks) {
  const std::vector<uint8_t> seed = seed_bzimage();
  run_mutations(seed, 0x1f1, 0x1f1 + sizeof(setup_header),
                [](GuestMemory& memory, std::span<const uint8_t> image) {
                  return load_bzimage(memory, image);
                });
}

}  // namespace
}  // namespace kvrun::vmm
