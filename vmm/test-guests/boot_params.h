// The few struct boot_params fields test guests read (offsets from the Linux x86 boot
// protocol, Documentation/arch/x86/zero-page.rst). Read byte-wise: the VMM wrote them, the
// guest treats them as untrusted input and never assumes alignment.
#pragma once

#include "guest.h"

#define BP_EXT_CMD_LINE_PTR 0x0c8  // u32: bits 32..63 of the command line address
#define BP_E820_ENTRIES 0x1e8      // u8
#define BP_BOOT_FLAG 0x1fe         // u16: 0xaa55
#define BP_HEADER 0x202            // u32: "HdrS"
#define BP_CMD_LINE_PTR 0x228      // u32
#define BP_E820_TABLE 0x2d0        // struct boot_e820_entry[E820_MAX]
#define BP_E820_MAX 128
#define BP_E820_ENTRY_SIZE 20  // packed: u64 addr, u64 size, u32 type
#define BP_BOOT_FLAG_MAGIC 0xaa55
#define BP_HEADER_MAGIC 0x53726448  // "HdrS" little-endian
#define E820_TYPE_RAM 1

static inline uint64_t read_le(const uint8_t* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

struct e820_entry {
  uint64_t addr;
  uint64_t size;
  uint32_t type;
};

// Number of e820 entries the VMM claims, clamped to what the zero page can hold.
static inline int e820_count(const uint8_t* bp) {
  int n = bp[BP_E820_ENTRIES];
  return n > BP_E820_MAX ? BP_E820_MAX : n;
}

static inline struct e820_entry e820_get(const uint8_t* bp, int index) {
  const uint8_t* p = bp + BP_E820_TABLE + index * BP_E820_ENTRY_SIZE;
  struct e820_entry e = {read_le(p, 8), read_le(p + 8, 8), (uint32_t)read_le(p + 16, 4)};
  return e;
}

// True if [addr, addr+len) lies inside one RAM entry of the e820 map.
static inline bool e820_is_ram(const uint8_t* bp, uint64_t addr, uint64_t len) {
  for (int i = 0; i < e820_count(bp); ++i) {
    struct e820_entry e = e820_get(bp, i);
    if (e.type == E820_TYPE_RAM && addr >= e.addr && addr - e.addr < e.size &&
        len <= e.size - (addr - e.addr))
      return true;
  }
  return false;
}
