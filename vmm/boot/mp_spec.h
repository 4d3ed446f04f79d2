// Structures of the Intel MultiProcessor Specification 1.4 (chapter 4), as the guest reads
// them. Every field is naturally aligned, so no packing is needed; the sizes are pinned below.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kvrun::vmm::mp {

inline constexpr uint8_t kSpecRev14 = 4;

// "_MP_": found by the guest scanning the last KiB of base memory; points at the table.
struct FloatingPointer {
  char signature[4];
  uint32_t config_table;  // physical address of ConfigHeader
  uint8_t length;         // in 16-byte units
  uint8_t spec_rev;
  uint8_t checksum;     // all 16 bytes sum to 0
  uint8_t features[5];  // [0] == 0: a configuration table is present
};

// "PCMP", followed by entry_count variable-size entries.
struct ConfigHeader {
  char signature[4];
  uint16_t base_length;  // header plus all base entries, in bytes
  uint8_t spec_rev;
  uint8_t checksum;  // the base_length bytes sum to 0
  char oem_id[8];
  char product_id[12];
  uint32_t oem_table;
  uint16_t oem_table_size;
  uint16_t entry_count;
  uint32_t lapic_address;
  uint16_t extended_length;
  uint8_t extended_checksum;
  uint8_t reserved;
};

enum EntryType : uint8_t {
  kProcessor = 0,
  kBus = 1,
  kIoApic = 2,
  kIoInterrupt = 3,
  kLocalInterrupt = 4,
};

enum InterruptType : uint8_t {
  kInt = 0,
  kNmi = 1,
  kSmi = 2,
  kExtInt = 3,
};

inline constexpr uint8_t kCpuEnabled = 1 << 0;
inline constexpr uint8_t kCpuBootstrap = 1 << 1;
inline constexpr uint8_t kIoApicEnabled = 1 << 0;
inline constexpr uint16_t kFlagsConformToBus = 0;  // polarity and trigger as the bus defines
inline constexpr uint8_t kAllLocalApics = 0xff;

struct ProcessorEntry {
  uint8_t type;  // kProcessor
  uint8_t lapic_id;
  uint8_t lapic_version;
  uint8_t cpu_flags;
  uint32_t cpu_signature;  // stepping [3:0], model [7:4], family [11:8]
  uint32_t feature_flags;  // CPUID.1:EDX
  uint32_t reserved[2];
};

struct BusEntry {
  uint8_t type;  // kBus
  uint8_t bus_id;
  char bus_type[6];  // blank padded, e.g. "ISA   "
};

struct IoApicEntry {
  uint8_t type;  // kIoApic
  uint8_t ioapic_id;
  uint8_t ioapic_version;
  uint8_t flags;
  uint32_t address;
};

// Also the layout of a local interrupt assignment (type kLocalInterrupt), where dest_apic_id is a
// local APIC and dest_pin a LINTIN#.
struct InterruptEntry {
  uint8_t type;  // kIoInterrupt or kLocalInterrupt
  uint8_t interrupt_type;
  uint16_t flags;
  uint8_t source_bus_id;
  uint8_t source_bus_irq;
  uint8_t dest_apic_id;
  uint8_t dest_pin;
};

static_assert(sizeof(FloatingPointer) == 16);
static_assert(offsetof(FloatingPointer, checksum) == 10);
static_assert(sizeof(ConfigHeader) == 44);
static_assert(offsetof(ConfigHeader, entry_count) == 34);
static_assert(offsetof(ConfigHeader, lapic_address) == 36);
static_assert(sizeof(ProcessorEntry) == 20);
static_assert(sizeof(BusEntry) == 8);
static_assert(sizeof(IoApicEntry) == 8);
static_assert(offsetof(IoApicEntry, address) == 4);
static_assert(sizeof(InterruptEntry) == 8);

}  // namespace kvrun::vmm::mp
