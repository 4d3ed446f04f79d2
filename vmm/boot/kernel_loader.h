// Loads a guest kernel into guest memory: an uncompressed ELF64 vmlinux, or a bzImage
// (64-bit boot protocol >= 2.06). Everything in the image is untrusted: every offset and
// size is checked against the file and against guest memory.
#pragma once

#include <asm/bootparam.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>

#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {

struct LoadedKernel {
  GuestAddress entry;     // 64-bit entry point, entered in long mode with rsi = zero page
  GuestAddress end;       // first byte after the loaded image (page-aligned)
  // The bzImage's setup header, copied into boot_params; absent for ELF.
  std::optional<setup_header> setup;
};

// Detects the format and loads it. Throws kvrun::Error "kernel <path>: <reason>".
LoadedKernel load_kernel(GuestMemory& memory, const std::filesystem::path& path);

LoadedKernel load_elf_kernel(GuestMemory& memory, std::span<const uint8_t> image);
LoadedKernel load_bzimage(GuestMemory& memory, std::span<const uint8_t> image);

struct LoadedInitrd {
  GuestAddress address;
  uint64_t size;
};

// Places the initramfs page-aligned at the top of low RAM, above `kernel_end`.
// Throws kvrun::Error "initramfs <path>: <reason>" (e.g. does not fit in guest memory).
LoadedInitrd load_initramfs(GuestMemory& memory, const std::filesystem::path& path,
                            GuestAddress kernel_end);

}  // namespace kvrun::vmm
