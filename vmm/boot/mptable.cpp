#include "vmm/boot/mptable.h"

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "common/error.h"
#include "vmm/boot/layout.h"
#include "vmm/boot/mp_spec.h"

namespace kvrun::vmm {

namespace {

constexpr uint8_t kIsaBusId = 0;
// The in-kernel local APIC (KVM) reports version 0x14: an integrated APIC, which Linux needs to
// see here to use it as one.
constexpr uint8_t kLapicVersion = 0x14;
constexpr uint8_t kIoapicVersion = 0x11;
// Linux only reports these; they describe a family-6 CPU with an FPU and a local APIC.
constexpr uint32_t kCpuSignature = (6u << 8) | (1u << 4) | 1u;
constexpr uint32_t kCpuFeatures = (1u << 0) | (1u << 9);

constexpr uint64_t kConfigAddr = layout::kMpTableAddr + sizeof(mp::FloatingPointer);
constexpr uint64_t kMaxTableBytes = sizeof(mp::FloatingPointer) + sizeof(mp::ConfigHeader) +
                                    kMaxVcpus * sizeof(mp::ProcessorEntry) + sizeof(mp::BusEntry) +
                                    sizeof(mp::IoApicEntry) +
                                    (layout::kIoapicPins + 2) * sizeof(mp::InterruptEntry);
// The guest finds the floating pointer only in the last KiB below 640 KiB, and nothing of ours may
// run into the legacy video area above it.
static_assert(layout::kMpTableAddr + kMaxTableBytes <= 0xa0000, "MP table overflows the EBDA");

uint8_t checksum(std::span<const uint8_t> bytes) {
  const uint8_t sum = std::accumulate(bytes.begin(), bytes.end(), uint8_t{0});
  return static_cast<uint8_t>(0x100 - sum);
}

template <typename T>
void append(std::vector<uint8_t>& out, const T& entry) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(&entry);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

void set_chars(char* field, size_t size, std::string_view text) {
  std::memset(field, ' ', size);
  std::memcpy(field, text.data(), std::min(size, text.size()));
}

}  // namespace

void write_mp_table(GuestMemory& memory, unsigned num_cpus) {
  if (num_cpus == 0 || num_cpus > kMaxVcpus) {
    throw Error("cannot describe " + std::to_string(num_cpus) + " vCPUs in the MP table (1 to " +
                std::to_string(kMaxVcpus) + ")");
  }
  const auto ioapic_id = static_cast<uint8_t>(num_cpus);  // APIC IDs 0..n-1 are the vCPUs

  // The entries after the config header, in the order the specification recommends.
  std::vector<uint8_t> entries;
  for (unsigned cpu = 0; cpu < num_cpus; ++cpu) {
    mp::ProcessorEntry entry{};
    entry.type = mp::kProcessor;
    entry.lapic_id = static_cast<uint8_t>(cpu);
    entry.lapic_version = kLapicVersion;
    entry.cpu_flags = mp::kCpuEnabled | (cpu == 0 ? mp::kCpuBootstrap : 0);
    entry.cpu_signature = kCpuSignature;
    entry.feature_flags = kCpuFeatures;
    append(entries, entry);
  }
  mp::BusEntry bus{};
  bus.type = mp::kBus;
  bus.bus_id = kIsaBusId;
  set_chars(bus.bus_type, sizeof(bus.bus_type), "ISA");
  append(entries, bus);

  mp::IoApicEntry ioapic{};
  ioapic.type = mp::kIoApic;
  ioapic.ioapic_id = ioapic_id;
  ioapic.ioapic_version = kIoapicVersion;
  ioapic.flags = mp::kIoApicEnabled;
  ioapic.address = kIoapicAddr;
  append(entries, ioapic);

  for (unsigned irq = 0; irq < layout::kIoapicPins; ++irq) {
    // Identity routing: IRQ n arrives at IOAPIC pin n, which is what the devices assume when
    // they pick an IRQ number. Pins 16-23 have no ISA line; describing them as ISA IRQs
    // (conforming: edge, active high) is how Linux learns it may use them for virtio-mmio.
    const mp::InterruptEntry entry{
        mp::kIoInterrupt,          mp::kInt,  mp::kFlagsConformToBus,   kIsaBusId,
        static_cast<uint8_t>(irq), ioapic_id, static_cast<uint8_t>(irq)};
    append(entries, entry);
  }
  // The 8259 reaches the CPUs through LINT0 (virtual wire mode) and NMIs through LINT1.
  append(entries, mp::InterruptEntry{mp::kLocalInterrupt, mp::kExtInt, mp::kFlagsConformToBus,
                                     kIsaBusId, 0, mp::kAllLocalApics, 0});
  append(entries, mp::InterruptEntry{mp::kLocalInterrupt, mp::kNmi, mp::kFlagsConformToBus,
                                     kIsaBusId, 0, mp::kAllLocalApics, 1});
  const unsigned entry_count = num_cpus + 2 + layout::kIoapicPins + 2;

  mp::ConfigHeader header{};
  std::memcpy(header.signature, "PCMP", 4);
  header.base_length = static_cast<uint16_t>(sizeof(header) + entries.size());
  header.spec_rev = mp::kSpecRev14;
  set_chars(header.oem_id, sizeof(header.oem_id), "KVRUN");
  set_chars(header.product_id, sizeof(header.product_id), "MICROVM");
  header.entry_count = static_cast<uint16_t>(entry_count);
  header.lapic_address = kLapicAddr;
  std::vector<uint8_t> table;
  append(table, header);
  table.insert(table.end(), entries.begin(), entries.end());
  table[offsetof(mp::ConfigHeader, checksum)] = checksum(table);

  mp::FloatingPointer pointer{};
  std::memcpy(pointer.signature, "_MP_", 4);
  pointer.config_table = static_cast<uint32_t>(kConfigAddr);
  pointer.length = 1;
  pointer.spec_rev = mp::kSpecRev14;
  pointer.checksum = checksum({reinterpret_cast<const uint8_t*>(&pointer), sizeof(pointer)});

  memory.write_obj(layout::kMpTableAddr, pointer);
  memory.write(kConfigAddr, table);
}

}  // namespace kvrun::vmm
