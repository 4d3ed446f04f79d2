#include "vmm/boot/long_mode.h"

#include <array>

#include "vmm/boot/layout.h"

namespace kvrun::vmm {

namespace {

constexpr uint64_t kPresent = 1ull << 0;
constexpr uint64_t kWritable = 1ull << 1;
constexpr uint64_t kPageSizeBit = 1ull << 7;  // in a PD entry: this maps a 2 MiB page
constexpr uint64_t kEntriesPerTable = 512;
constexpr uint64_t kLargePage = 2ull << 20;
constexpr uint64_t kPdCount = layout::kIdentityMapBytes / (kLargePage * kEntriesPerTable);
static_assert(kPdCount == 4, "the layout reserves four page directories");

constexpr uint16_t kCode64Flags = 0xa09b;  // G, L, present, DPL 0, execute/read, accessed
constexpr uint16_t kDataFlags = 0xc093;    // G, D/B, present, DPL 0, read/write, accessed

using Table = std::array<uint64_t, kEntriesPerTable>;

}  // namespace

void write_identity_page_tables(GuestMemory& memory) {
  // Whole tables are written, so a stale entry from an earlier boot cannot survive.
  Table pml4{};
  pml4[0] = layout::kPdptAddr | kPresent | kWritable;
  memory.write_obj(layout::kPml4Addr, pml4);

  Table pdpt{};
  for (uint64_t i = 0; i < kPdCount; ++i) {
    pdpt[i] = (layout::kPdAddr + i * kPageSize) | kPresent | kWritable;
  }
  memory.write_obj(layout::kPdptAddr, pdpt);

  for (uint64_t i = 0; i < kPdCount; ++i) {
    Table pd{};
    for (uint64_t j = 0; j < kEntriesPerTable; ++j) {
      const uint64_t address = (i * kEntriesPerTable + j) * kLargePage;
      pd[j] = address | kPresent | kWritable | kPageSizeBit;
    }
    memory.write_obj(layout::kPdAddr + i * kPageSize, pd);
  }
}

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit) {
  // Base and limit are split across the descriptor for 286 compatibility; the access byte is
  // flags[7:0] at bits 40-47 and the G/D/L/AVL nibble is flags[15:12] at bits 52-55.
  return ((uint64_t{base} & 0xff000000u) << 32) | ((uint64_t{flags} & 0xf0ffu) << 40) |
         ((uint64_t{limit} & 0x000f0000u) << 32) | ((uint64_t{base} & 0x00ffffffu) << 16) |
         (uint64_t{limit} & 0x0000ffffu);
}

void write_gdt(GuestMemory& memory) {
  const std::array<uint64_t, 4> gdt = {
      0, 0, gdt_entry(kCode64Flags, 0, 0xfffff),  // layout::kCodeSelector
      gdt_entry(kDataFlags, 0, 0xfffff),          // layout::kDataSelector
  };
  static_assert(layout::kCodeSelector == 2 * sizeof(uint64_t));
  static_assert(layout::kDataSelector == 3 * sizeof(uint64_t));
  static_assert(layout::kGdtAddr + sizeof(gdt) <= layout::kIdtAddr, "GDT would overlap the IDT");
  memory.write_obj(layout::kGdtAddr, gdt);
  // The vCPU gets an IDT at kIdtAddr with limit 0: the kernel installs its own before it
  // enables interrupts, but a stray exception must not find a plausible gate here.
  memory.write_obj<uint64_t>(layout::kIdtAddr, 0);
}

}  // namespace kvrun::vmm
