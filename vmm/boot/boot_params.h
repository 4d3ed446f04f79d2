// Builds the Linux zero page (struct boot_params), the command line and the e820 map.
#pragma once

#include <asm/bootparam.h>

#include <optional>
#include <string_view>
#include <vector>

#include "vmm/boot/kernel_loader.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {

// The e820 map for this memory: low RAM below the EBDA, RAM from 1 MiB to the MMIO gap,
// RAM above 4 GiB; everything else reserved or absent.
std::vector<boot_e820_entry> build_e820_map(const GuestMemory& memory);

// Writes cmdline at layout::kCmdlineAddr and boot_params at layout::kZeroPageAddr: a bzImage's
// setup header completed with what the loader owns (loader type, command line, initramfs,
// e820), or a fresh header for an ELF kernel.
// Throws kvrun::Error if the command line is too long for the kernel (a bzImage's cmdline_size)
// or the buffer (layout::kCmdlineMaxSize with its NUL), or contains a NUL byte.
void write_boot_params(GuestMemory& memory, const LoadedKernel& kernel,
                       std::optional<LoadedInitrd> initrd, std::string_view cmdline);

}  // namespace kvrun::vmm
