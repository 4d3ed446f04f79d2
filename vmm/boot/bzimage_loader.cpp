// bzImage loading for the 64-bit boot protocol (Documentation/arch/x86/boot.rst): the
// protected-mode part goes to 1 MiB and is entered at its 64-bit entry, 0x200 bytes in; it then
// decompresses the real kernel itself.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "common/error.h"
#include "vmm/boot/kernel_loader.h"
#include "vmm/boot/layout.h"
#include "vmm/memory/format.h"

namespace kvrun::vmm {

namespace {

// Offsets into the image fixed by the boot protocol.
constexpr size_t kSetupHeaderOffset = 0x1f1;
constexpr size_t kJumpOffset = 0x200;  // "jmp short": its byte at 0x201 gives the header's end
constexpr size_t kMagicOffset = 0x202;
constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS"
constexpr uint16_t kMinProtocol = 0x206;     // 2.06: cmdline_size, and the 64-bit layout
constexpr unsigned kSectorSize = 512;
constexpr unsigned kDefaultSetupSects = 4;  // a setup_sects of 0 means 4 (very old kernels)
constexpr uint64_t kEntry64Offset = 0x200;

std::string protocol_string(uint16_t version) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%02u", version >> 8, version & 0xffu);
  return buf;
}

setup_header read_setup_header(std::span<const uint8_t> image) {
  if (image.size() < kSetupHeaderOffset + sizeof(setup_header)) {
    throw Error("file is too small for a bzImage (" + std::to_string(image.size()) + " bytes)");
  }
  uint32_t magic;
  std::memcpy(&magic, image.data() + kMagicOffset, sizeof(magic));
  if (magic != kHdrSMagic) throw Error("no bzImage header (\"HdrS\" missing at 0x202)");

  // Only the bytes the kernel declares belong to the header; whatever follows is setup code and
  // must not be mistaken for newer header fields, which stay zero.
  const size_t header_end = kMagicOffset + image[kJumpOffset + 1];
  const size_t header_len = std::min(sizeof(setup_header), header_end - kSetupHeaderOffset);
  setup_header hdr{};
  std::memcpy(&hdr, image.data() + kSetupHeaderOffset, header_len);
  return hdr;
}

}  // namespace

LoadedKernel load_bzimage(GuestMemory& memory, std::span<const uint8_t> image) {
  const setup_header hdr = read_setup_header(image);
  if (hdr.version < kMinProtocol) {
    throw Error("boot protocol " + protocol_string(hdr.version) + " is too old (need " +
                protocol_string(kMinProtocol) + " or newer)");
  }
  if ((hdr.loadflags & LOADED_HIGH) == 0) {
    throw Error("kernel does not load at 1 MiB (zImage is not supported)");
  }
  if ((hdr.xloadflags & XLF_KERNEL_64) == 0) {
    throw Error("kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
  }

  const unsigned setup_sects = hdr.setup_sects == 0 ? kDefaultSetupSects : hdr.setup_sects;
  const size_t kernel_offset = size_t{setup_sects + 1} * kSectorSize;
  if (kernel_offset >= image.size()) {
    throw Error("setup code (" + std::to_string(setup_sects) +
                " sectors) leaves no kernel in a file of " + std::to_string(image.size()) +
                " bytes");
  }
  const std::span<const uint8_t> kernel = image.subspan(kernel_offset);
  const GuestAddress load_addr = layout::kHighMemStart;
  if (!memory.contains(load_addr, kernel.size())) {
    throw Error("kernel " + format_range(load_addr, kernel.size()) +
                " does not fit in guest memory");
  }

  // The decompressor works in init_size bytes at pref_address (LOAD_PHYSICAL_ADDR) when it was
  // loaded below it, else at the load address; that memory belongs to the kernel as well, so
  // the initramfs must go above it.
  const GuestAddress work_addr = std::max<uint64_t>(load_addr, hdr.pref_address);
  if (!memory.contains(work_addr, hdr.init_size)) {
    throw Error("kernel needs " + format_range(work_addr, hdr.init_size) +
                " to decompress, which is outside guest memory");
  }
  memory.write(load_addr, kernel);

  const GuestAddress end = std::max(load_addr + kernel.size(), work_addr + hdr.init_size);
  return LoadedKernel{load_addr + kEntry64Offset, page_align_up(end), hdr};
}

}  // namespace kvrun::vmm
