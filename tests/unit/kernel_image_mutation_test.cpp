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
#include "tests/unit/bzimage_image.h"
#include "tests/unit/elf_image.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

std::vector<uint8_t> seed_elf() {
  std::vector<test_util::Segment> segments;
  for (uint64_t i = 0; i < 2; ++i) {
    segments.push_back({.vaddr = 0xffffffff81000000ull + i * 0x100000,
                        .paddr = 0x1000000 + i * 0x100000,
                        .data = std::vector<uint8_t>(128, 0x90),
                        .memsz = 0x2000});
  }
  return test_util::ElfImage(0x1000000, segments).bytes();
}

std::vector<uint8_t> seed_bzimage() {
  setup_header hdr{};
  hdr.setup_sects = 1;
  hdr.header = 0x53726448;
  hdr.version = 0x020f;
  hdr.loadflags = LOADED_HIGH;
  hdr.xloadflags = XLF_KERNEL_64;
  hdr.pref_address = 0x1000000;
  hdr.init_size = 0x100000;
  return test_util::make_bzimage(hdr, std::vector<uint8_t>(512, 0xf4));
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
