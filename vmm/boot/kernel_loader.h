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
  GuestAddress entry;  // 64-bit entry point, entered in long mode with rsi = zero page
  // First byte after the memory the kernel occupies (page-aligned), including the space a
  // bzImage decompresses into; nothing else may be placed between 1 MiB and here.
  GuestAddress end;
  // The bzImage's setup header, copied into boot_params; absent for ELF.
  std::optional<setup_header> setup;
};

// Detects the format and loads it. Throws kvrun::Error "kernel <path>: <reason>".
LoadedKernel load_kernel(GuestMemory& memory, const std::filesystem::path& path);

// The format-specific loaders; their errors carry the reason without the path.
LoadedKernel load_elf_kernel(GuestMemory& memory, std::span<const uint8_t> image);
LoadedKernel load_bzimage(GuestMemory& memory, std::span<const uint8_t> image);

struct LoadedInitrd {
  GuestAddress address;
  uint64_t size;
};

// The boot protocol's default for the highest address an initramfs byte may occupy, used for
// an ELF kernel (no setup header) or a header that leaves the field zero.
inline constexpr GuestAddress kDefaultInitrdAddrMax = 0x37ffffff;

// Places the initramfs page-aligned at the top of low RAM (below the MMIO gap), above
// `kernel.end` and no higher than the kernel's initrd_addr_max.
// Throws kvrun::Error "initramfs <path>: <reason>", or "initramfs <path> (N MiB) does not fit in
// guest memory below ..." when there is no room.
LoadedInitrd load_initramfs(GuestMemory& memory, const std::filesystem::path& path,
                            const LoadedKernel& kernel);

// As above for a kernel whose limits are unknown: uses kDefaultInitrdAddrMax.
LoadedInitrd load_initramfs(GuestMemory& memory, const std::filesystem::path& path,
                            GuestAddress kernel_end);

}  // namespace kvrun::vmm
