#include "vmm/boot/mptable.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "tests/unit/boot_test_util.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/mp_spec.h"

namespace kvrun::vmm {
namespace {

using test_util::error_of;

constexpr uint64_t kMiB = 1ull << 20;

uint8_t byte_sum(const GuestMemory& memory, uint64_t gpa, uint64_t len) {
  std::span<const uint8_t> bytes = memory.slice(gpa, len);
  return std::accumulate(bytes.begin(), bytes.end(), uint8_t{0});
}

// What a guest learns from the table, parsed by walking the entries as Linux does.
struct ParsedTable {
  std::vector<mp::ProcessorEntry> cpus;
  std::vector<mp::BusEntry> buses;
  std::vector<mp::IoApicEntry> ioapics;
  std::vector<mp::InterruptEntry> io_interrupts;
  std::vector<mp::InterruptEntry> local_interrupts;
  uint64_t end = 0;
};

ParsedTable parse(const GuestMemory& memory) {
  ParsedTable parsed;
  const auto fp = memory.read_obj<mp::FloatingPointer>(layout::kMpTableAddr);
  EXPECT_EQ(std::string(fp.signature, 4), "_MP_");
  EXPECT_EQ(fp.length, 1);
  EXPECT_EQ(fp.spec_rev, 4);
  EXPECT_EQ(fp.features[0], 0);  // a configuration table follows, no default config
  EXPECT_EQ(byte_sum(memory, layout::kMpTableAddr, 16), 0);

  const auto header = memory.read_obj<mp::ConfigHeader>(fp.config_table);
  EXPECT_EQ(std::string(header.signature, 4), "PCMP");
  EXPECT_EQ(header.spec_rev, 4);
  EXPECT_EQ(header.lapic_address, kLapicAddr);
  EXPECT_EQ(byte_sum(memory, fp.config_table, header.base_length), 0);

  uint64_t at = fp.config_table + sizeof(mp::ConfigHeader);
  for (unsigned i = 0; i < header.entry_count; ++i) {
    switch (memory.read_obj<uint8_t>(at)) {
      case mp::kProcessor:
        parsed.cpus.push_back(memory.read_obj<mp::ProcessorEntry>(at));
        at += sizeof(mp::ProcessorEntry);
        break;
      case mp::kBus:
        parsed.buses.push_back(memory.read_obj<mp::BusEntry>(at));
        at += sizeof(mp::BusEntry);
        break;
      case mp::kIoApic:
        parsed.ioapics.push_back(memory.read_obj<mp::IoApicEntry>(at));
        at += sizeof(mp::IoApicEntry);
        break;
      case mp::kIoInterrupt:
        parsed.io_interrupts.push_back(memory.read_obj<mp::InterruptEntry>(at));
        at += sizeof(mp::InterruptEntry);
        break;
      case mp::kLocalInterrupt:
        parsed.local_interrupts.push_back(memory.read_obj<mp::InterruptEntry>(at));
        at += sizeof(mp::InterruptEntry);
        break;
      default:
        ADD_FAILURE() << "unknown entry type at " << std::hex << at;
        return parsed;
    }
  }
  EXPECT_EQ(at - fp.config_table, header.base_length);
  parsed.end = at;
  return parsed;
}

class MpTableTest : public ::testing::TestWithParam<unsigned> {};

TEST_P(MpTableTest, DescribesEveryVcpuAndTheIoApic) {
  const unsigned num_cpus = GetParam();
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  write_mp_table(memory, num_cpus);
  const ParsedTable table = parse(memory);

  EXPECT_LE(table.end, 0xa0000u);
  ASSERT_EQ(table.cpus.size(), num_cpus);
  for (unsigned i = 0; i < num_cpus; ++i) {
    EXPECT_EQ(table.cpus[i].lapic_id, i);
    EXPECT_TRUE(table.cpus[i].cpu_flags & mp::kCpuEnabled);
    EXPECT_EQ((table.cpus[i].cpu_flags & mp::kCpuBootstrap) != 0, i == 0) << "cpu " << i;
    EXPECT_GE(table.cpus[i].lapic_version, 0x10);  // integrated APIC
  }
  ASSERT_EQ(table.buses.size(), 1u);
  EXPECT_EQ(std::string(table.buses[0].bus_type, 6), "ISA   ");

  ASSERT_EQ(table.ioapics.size(), 1u);
  EXPECT_EQ(table.ioapics[0].ioapic_id, num_cpus);
  EXPECT_EQ(table.ioapics[0].ioapic_version, 0x11);
  EXPECT_EQ(table.ioapics[0].address, kIoapicAddr);
  EXPECT_TRUE(table.ioapics[0].flags & mp::kIoApicEnabled);

  // All 24 IOAPIC pins: virtio-mmio devices use those above the ISA range too.
  ASSERT_EQ(table.io_interrupts.size(), 24u);
  for (unsigned irq = 0; irq < 24; ++irq) {
    const mp::InterruptEntry& entry = table.io_interrupts[irq];
    EXPECT_EQ(entry.interrupt_type, mp::kInt);
    EXPECT_EQ(entry.source_bus_id, table.buses[0].bus_id);
    EXPECT_EQ(entry.source_bus_irq, irq);
    EXPECT_EQ(entry.dest_apic_id, num_cpus);
    EXPECT_EQ(entry.dest_pin, irq);
  }
  ASSERT_EQ(table.local_interrupts.size(), 2u);
  EXPECT_EQ(table.local_interrupts[0].interrupt_type, mp::kExtInt);
  EXPECT_EQ(table.local_interrupts[0].dest_pin, 0);
  EXPECT_EQ(table.local_interrupts[1].interrupt_type, mp::kNmi);
  EXPECT_EQ(table.local_interrupts[1].dest_pin, 1);
}

INSTANTIATE_TEST_SUITE_P(VcpuCounts, MpTableTest, ::testing::Values(1u, 2u, 4u, kMaxVcpus));

TEST(MpTableRawTest, FloatingPointerPointsJustPastItself) {
  // Checked byte by byte, independently of the structs in mp_spec.h.
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  write_mp_table(memory, 2);
  const uint64_t fp = layout::kMpTableAddr;
  EXPECT_EQ(memory.read_obj<uint32_t>(fp), 0x5f504d5fu);  // "_MP_"
  EXPECT_EQ(memory.read_obj<uint32_t>(fp + 4), fp + 16);
  EXPECT_EQ(memory.read_obj<uint32_t>(fp + 16), 0x504d4350u);  // "PCMP"
  // 2 CPUs + bus + IOAPIC + 24 IO interrupts + 2 local interrupts.
  EXPECT_EQ(memory.read_obj<uint16_t>(fp + 16 + 34), 30u);
  EXPECT_EQ(memory.read_obj<uint16_t>(fp + 16 + 4), 44u + 2 * 20 + 2 * 8 + 26 * 8);
  EXPECT_EQ(memory.read_obj<uint32_t>(fp + 16 + 36), 0xfee00000u);
}

TEST(MpTableRawTest, RejectsBadVcpuCounts) {
  GuestMemory memory = GuestMemory::create(32 * kMiB);
  EXPECT_HAS_SUBSTR(error_of([&] { write_mp_table(memory, 0); }), "0 vCPUs");
  EXPECT_HAS_SUBSTR(error_of([&] { write_mp_table(memory, kMaxVcpus + 1); }), "33 vCPUs");
}

}  // namespace
}  // namespace kvrun::vmm
