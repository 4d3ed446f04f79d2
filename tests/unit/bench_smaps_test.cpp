// The smaps split behind bench/boot's "VMM overhead" and "guest RAM touched" columns.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include "bench/boot/smaps.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::bench {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

// One smaps entry with only the fields the parser reads, plus a couple it must skip.
std::string entry(const std::string& header, uint64_t rss_kib) {
  return header + "\nSize:             9999 kB\nRss:   " + std::to_string(rss_kib) +
         " kB\nPss:   1 kB\nVmFlags: rd wr mr mw me ac sd\n";
}

// Shaped like QEMU microvm with -m 128 under TCG: its RAM block is one unnamed anonymous
// mapping of exactly the guest size; the 1 GiB code buffer and the stacks are not guest RAM.
TEST(BenchSmapsTest, QemuGuestRamIsTheAnonymousMappingOfTheGuestSize) {
  const std::string smaps =
      entry("555fbe361000-555fbe768000 r--p 00000000 fe:00 10977303   /usr/bin/qemu-system-x86_64",
            4124) +
      entry("555ff08e6000-555ff1303000 rw-p 00000000 00:00 0          [heap]", 4428) +
      entry("7f726be00000-7f7273e00000 rw-p 00000000 00:00 0 ", 30720) +  // 128 MiB
      entry("7f7273e00000-7f7273e01000 ---p 00000000 00:00 0 ", 0) +      // guard page
      entry("7f7274000000-7f72b3fff000 rwxp 00000000 00:00 0 ", 14336) +  // ~1 GiB
      entry("7f72b8b51000-7f72b9351000 rw-p 00000000 00:00 0 ", 12) +     // 8 MiB stack
      entry("7ffc1d9d2000-7ffc1d9f3000 rw-p 00000000 00:00 0          [stack]", 132);
  SmapsMemory memory = summarize_smaps(smaps, 128 * kMiB);
  EXPECT_EQ(memory.rss_kib, 4124u + 4428 + 30720 + 14336 + 12 + 132);
  EXPECT_EQ(memory.guest_rss_kib, 30720u);
  EXPECT_EQ(memory.overhead_kib(), 4124u + 4428 + 14336 + 12 + 132);
  EXPECT_EQ(memory.guest_mappings, 1);
  EXPECT_FALSE(memory.guest_found_by_name);
}

// A 4 GiB kvrun guest has two regions around the MMIO gap; the high one is far smaller than
// the guest, so only the name finds it.
TEST(BenchSmapsTest, NamedKvrunRegionsCountWhateverTheirSize) {
  const std::string smaps =
      entry("7f0000000000-7f00c0000000 rw-p 00000000 00:00 0          [anon:kvrun-guest-ram]",
            20000) +  // 3 GiB
      entry("7f0100000000-7f0140000000 rw-p 00000000 00:00 0          [anon:kvrun-guest-ram]",
            300) +  // 1 GiB
      entry("7f0200000000-7f0200800000 rw-p 00000000 00:00 0 ", 700);
  SmapsMemory memory = summarize_smaps(smaps, 4096 * kMiB);
  EXPECT_EQ(memory.guest_rss_kib, 20300u);
  EXPECT_EQ(memory.overhead_kib(), 700u);
  EXPECT_EQ(memory.guest_mappings, 2);
  EXPECT_TRUE(memory.guest_found_by_name);
}

TEST(BenchSmapsTest, SizeRuleTakesOnlyUnnamedAnonymousMappingsNearTheGuestSize) {
  const std::string smaps =
      entry("10000000-17e00000 rw-p 00000000 00:00 0", 1) +  // 126 MiB: within 1/16
      entry("20000000-24000000 rw-p 00000000 00:00 0", 2) +  // 64 MiB: an arena, not guest
      entry("30000000-39000000 rw-p 00000000 00:00 0", 4) +  // 144 MiB: too large
      entry("40000000-48000000 rw-p 00000000 08:01 1234   /memfd:x (deleted)", 8) +  // a file
      entry("50000000-58000000 rw-p 00000000 00:00 0    [anon:something-else]", 16);
  SmapsMemory memory = summarize_smaps(smaps, 128 * kMiB);
  EXPECT_EQ(memory.guest_rss_kib, 1u);
  EXPECT_EQ(memory.rss_kib, 31u);
  EXPECT_EQ(memory.guest_mappings, 1);
}

TEST(BenchSmapsTest, NoGuestMappingLeavesAllRssAsOverhead) {
  SmapsMemory memory = summarize_smaps(entry("1000-2000 r--p 00000000 00:00 0", 4), 128 * kMiB);
  EXPECT_EQ(memory.guest_mappings, 0);
  EXPECT_EQ(memory.overhead_kib(), 4u);
  EXPECT_EQ(summarize_smaps("", 128 * kMiB).rss_kib, 0u);
}

std::string error_of(const std::string& smaps) {
  try {
    summarize_smaps(smaps, 128 * kMiB);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(BenchSmapsTest, MalformedInputNamesTheLine) {
  EXPECT_EQ(error_of("Rss: 4 kB\n"), "smaps line 1 is malformed: \"Rss: 4 kB\"");
  EXPECT_EQ(error_of("1000-2000 r--p 00000000 00:00 0\nRss: lots kB\n"),
            "smaps line 2 is malformed: \"Rss: lots kB\"");
  EXPECT_EQ(error_of("1000-2000 r--p 00000000 00:00 0\nRss: 4 MB\n"),
            "smaps line 2 is malformed: \"Rss: 4 MB\"");
  EXPECT_EQ(error_of("1000-2000 r--p 00000000 00:00 0\nRss: 4 kB\nRss: 4 kB\n"),
            "smaps line 3 is malformed: \"Rss: 4 kB\"");
  EXPECT_EQ(error_of("2000-1000 r--p 00000000 00:00 0\n"),
            "smaps line 1 is malformed: \"2000-1000 r--p 00000000 00:00 0\"");
  EXPECT_EQ(error_of("1000-2000 r--p 00000000\n"),
            "smaps line 1 is malformed: \"1000-2000 r--p 00000000\"");
  EXPECT_EQ(error_of("1000-zz r--p 00000000 00:00 0\n"),
            "smaps line 1 is malformed: \"1000-zz r--p 00000000 00:00 0\"");
  EXPECT_EQ(error_of("1000-2000 r--p 00000000 00:00 99999999999999999999999\n"),
            "smaps line 1 is malformed: \"1000-2000 r--p 00000000 00:00 99999999999999999999999\"");
}

// What the bench sees in a real process: kvrun's guest memory, once touched, counts as guest
// RAM (by name where the kernel has CONFIG_ANON_VMA_NAME, else by size), the rest does not.
TEST(BenchSmapsTest, FindsKvrunGuestMemoryInThisProcess) {
  vmm::GuestMemory guest = vmm::GuestMemory::create(24 * kMiB);
  std::memset(guest.slice(0, 6 * kMiB).data(), 0x5a, 6 * kMiB);
  std::ifstream file("/proc/self/smaps");
  std::ostringstream text;
  text << file.rdbuf();
  ASSERT_TRUE(file) << "cannot read /proc/self/smaps";
  SmapsMemory memory = summarize_smaps(text.str(), 24 * kMiB);
  EXPECT_GE(memory.guest_rss_kib, 6 * 1024u);
  EXPECT_LE(memory.guest_rss_kib, 24 * 1024u);
  EXPECT_GT(memory.overhead_kib(), 0u);
}

}  // namespace
}  // namespace kvrun::bench
