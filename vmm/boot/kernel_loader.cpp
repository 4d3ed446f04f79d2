#include "vmm/boot/kernel_loader.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "common/error.h"
#include "vmm/boot/input_file.h"
#include "vmm/memory/format.h"

namespace kvrun::vmm {

namespace {

bool is_elf(std::span<const uint8_t> image) {
  static constexpr uint8_t kMagic[] = {0x7f, 'E', 'L', 'F'};
  return image.size() >= sizeof(kMagic) && std::memcmp(image.data(), kMagic, sizeof(kMagic)) == 0;
}

bool is_bzimage(std::span<const uint8_t> image) {
  static constexpr uint8_t kMagic[] = {'H', 'd', 'r', 'S'};
  constexpr size_t kMagicOffset = 0x202;
  return image.size() >= kMagicOffset + sizeof(kMagic) &&
         std::memcmp(image.data() + kMagicOffset, kMagic, sizeof(kMagic)) == 0;
}

}  // namespace

LoadedKernel load_kernel(GuestMemory& memory, const std::filesystem::path& path) {
  try {
    const InputFile file = InputFile::open(path);
    // The loaders need random access to headers and segments; a kernel is tens of MiB at most.
    std::vector<uint8_t> image(file.size());
    file.read_exact(image);
    LoadedKernel kernel;
    if (is_elf(image)) {
      kernel = load_elf_kernel(memory, image);
    } else if (is_bzimage(image)) {
      kernel = load_bzimage(memory, image);
    } else {
      throw Error("neither an ELF vmlinux nor a bzImage");
    }
    spdlog::debug("kernel {}: {} entry {} end {}", path.string(), kernel.setup ? "bzImage" : "ELF",
                  hex(kernel.entry), hex(kernel.end));
    return kernel;
  } catch (const Error& e) {
    throw Error("kernel " + path.string() + ": " + e.what());
  }
}

}  // namespace kvrun::vmm
