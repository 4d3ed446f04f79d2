#include "vmm/boot/boot_params.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/error.h"
#include "vmm/boot/layout.h"
#include "vmm/memory/format.h"

namespace kvrun::vmm {

namespace {

constexpr uint32_t kE820Ram = 1;
constexpr uint8_t kLoaderTypeUndefined = 0xff;  // "no registered boot loader ID"
constexpr uint16_t kBootFlag = 0xaa55;
constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
// The heap end the boot protocol suggests for a loader that has run the setup code's heap; the
// 64-bit entry skips that code, so this only keeps the header the same as other loaders pass.
constexpr uint16_t kHeapEndPtr = 0xfe00;

uint64_t cmdline_limit(const LoadedKernel& kernel) {
  // The buffer holds the NUL as well; a kernel's cmdline_size does not count it.
  uint64_t limit = layout::kCmdlineMaxSize - 1;
  if (kernel.setup) limit = std::min<uint64_t>(limit, kernel.setup->cmdline_size);
  return limit;
}

void write_cmdline(GuestMemory& memory, const LoadedKernel& kernel, std::string_view cmdline) {
  const uint64_t limit = cmdline_limit(kernel);
  if (cmdline.size() > limit) {
    throw Error("kernel command line is " + std::to_string(cmdline.size()) +
                " bytes; the limit is " + std::to_string(limit));
  }
  // The kernel stops at the first NUL; anything after it would be silently dropped.
  if (cmdline.find('\0') != std::string_view::npos) {
    throw Error("kernel command line contains a NUL byte");
  }
  std::span<uint8_t> dest = memory.slice(layout::kCmdlineAddr, cmdline.size() + 1);
  std::memcpy(dest.data(), cmdline.data(), cmdline.size());
  dest[cmdline.size()] = 0;
}

}  // namespace

std::vector<boot_e820_entry> build_e820_map(const GuestMemory& memory) {
  std::vector<boot_e820_entry> map;
  // The 640 KiB below the EBDA, where the MP table lives; [EBDA, 1 MiB) is left out so the
  // kernel treats it as reserved, as on a PC.
  map.push_back({0, layout::kEbdaStart, kE820Ram});
  for (const MemoryRegion& region : memory.regions()) {
    GuestAddress start = region.guest_base;
    const GuestAddress end = region.guest_base + region.size;
    if (start < layout::kHighMemStart) start = layout::kHighMemStart;
    if (start < end) map.push_back({start, end - start, kE820Ram});
  }
  return map;
}

void write_boot_params(GuestMemory& memory, const LoadedKernel& kernel,
                       std::optional<LoadedInitrd> initrd, std::string_view cmdline) {
  write_cmdline(memory, kernel, cmdline);

  boot_params params{};
  // Only the setup header is taken from the image: the rest of the zero page is ours to fill.
  if (kernel.setup) params.hdr = *kernel.setup;
  setup_header& hdr = params.hdr;
  hdr.type_of_loader = kLoaderTypeUndefined;
  hdr.boot_flag = kBootFlag;
  hdr.header = kHdrSMagic;
  hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
  hdr.heap_end_ptr = kHeapEndPtr;
  hdr.cmd_line_ptr = static_cast<uint32_t>(layout::kCmdlineAddr);
  params.ext_cmd_line_ptr = static_cast<uint32_t>(layout::kCmdlineAddr >> 32);
  // From here on it describes the command line we pass, as other loaders do; the limit it held
  // was checked above.
  hdr.cmdline_size = static_cast<uint32_t>(cmdline.size());
  if (initrd) {
    hdr.ramdisk_image = static_cast<uint32_t>(initrd->address);
    hdr.ramdisk_size = static_cast<uint32_t>(initrd->size);
    params.ext_ramdisk_image = static_cast<uint32_t>(initrd->address >> 32);
    params.ext_ramdisk_size = static_cast<uint32_t>(initrd->size >> 32);
  }

  const std::vector<boot_e820_entry> map = build_e820_map(memory);
  if (map.size() > E820_MAX_ENTRIES_ZEROPAGE) {
    throw Error("e820 map has " + std::to_string(map.size()) + " entries; the zero page holds " +
                std::to_string(E820_MAX_ENTRIES_ZEROPAGE));
  }
  std::copy(map.begin(), map.end(), params.e820_table);
  params.e820_entries = static_cast<uint8_t>(map.size());

  memory.write_obj(layout::kZeroPageAddr, params);
}

}  // namespace kvrun::vmm
