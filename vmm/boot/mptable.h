// Intel MultiProcessor table: how a Linux guest without ACPI finds its vCPUs, the IOAPIC and
// the ISA interrupt routing.
#pragma once

#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {

inline constexpr unsigned kMaxVcpus = 32;
inline constexpr uint32_t kIoapicAddr = 0xfec00000;
inline constexpr uint32_t kLapicAddr = 0xfee00000;

// Writes the floating pointer and configuration table at layout::kMpTableAddr.
// Throws kvrun::Error if num_cpus is 0 or above kMaxVcpus.
void write_mp_table(GuestMemory& memory, unsigned num_cpus);

}  // namespace kvrun::vmm
