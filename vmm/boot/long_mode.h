// Identity page tables and the GDT that a 64-bit entry needs; the vCPU's special registers
// are then set from these addresses (see vmm/kvm/vcpu_setup.h).
#pragma once

#include <cstdint>

#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {

// Identity-maps the first layout::kIdentityMapBytes with 2 MiB pages (PML4 at kPml4Addr).
void write_identity_page_tables(GuestMemory& memory);

// Writes the GDT at layout::kGdtAddr: null, null, 64-bit code (kCodeSelector), data.
void write_gdt(GuestMemory& memory);

// A GDT entry for base/limit/flags in the classic packed layout (exposed for tests and for
// converting into kvm_segment).
uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

}  // namespace kvrun::vmm
