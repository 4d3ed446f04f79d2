#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/error.h"
#include "vmm/boot/input_file.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/boot/layout.h"
#include "vmm/memory/format.h"

namespace kvrun::vmm {

namespace {

// The highest page-aligned address that keeps [address, address + size) in low RAM, with its
// last byte at or below `addr_max` and its start at or above `kernel_end`; nullopt if none.
std::optional<GuestAddress> place(const GuestMemory& memory, uint64_t size, GuestAddress kernel_end,
                                  GuestAddress addr_max) {
  // Region 0 is the low region [0, min(RAM, MMIO gap)); Linux wants the initramfs below 4 GiB.
  const uint64_t low_end = memory.regions()[0].size;
  const uint64_t top = addr_max < low_end ? addr_max + 1 : low_end;
  if (size > top) return std::nullopt;
  const GuestAddress address = page_align_down(top - size);
  if (address < kernel_end) return std::nullopt;
  return address;
}

LoadedInitrd load(GuestMemory& memory, const std::filesystem::path& path, GuestAddress kernel_end,
                  GuestAddress addr_max) {
  const std::string what = "initramfs " + path.string();
  std::optional<InputFile> file;
  try {
    file.emplace(InputFile::open(path));
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  const std::optional<GuestAddress> address = place(memory, file->size(), kernel_end, addr_max);
  if (!address) {
    const uint64_t limit = std::min(addr_max + 1, memory.regions()[0].size);
    throw Error(what + " (" + format_size(file->size()) + ") does not fit in guest memory below " +
                hex(limit) + " above the kernel's end at " + hex(kernel_end));
  }
  try {
    // Straight into guest memory: an initramfs can be large and needs no parsing here.
    file->read_exact(memory.slice(*address, file->size()));
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  spdlog::debug("{}: {} at {}", what, format_size(file->size()), hex(*address));
  return LoadedInitrd{*address, file->size()};
}

}  // namespace

LoadedInitrd load_initramfs(GuestMemory& memory, const std::filesystem::path& path,
                            const LoadedKernel& kernel) {
  GuestAddress addr_max = kDefaultInitrdAddrMax;
  if (kernel.setup && kernel.setup->initrd_addr_max != 0) addr_max = kernel.setup->initrd_addr_max;
  return load(memory, path, kernel.end, addr_max);
}

LoadedInitrd load_initramfs(GuestMemory& memory, const std::filesystem::path& path,
                            GuestAddress kernel_end) {
  return load(memory, path, kernel_end, kDefaultInitrdAddrMax);
}

}  // namespace kvrun::vmm
