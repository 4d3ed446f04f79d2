// Builds bzImage files in memory for the loader tests.
#pragma once

#include <asm/bootparam.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace kvrun::vmm::test_util {

// Where the setup header sits in a bzImage (boot protocol).
inline constexpr size_t kHeaderOffset = 0x1f1;

// Setup sectors holding `hdr` at 0x1f1, then `kernel`. `header_len` is how much of the header
// the image's jump at 0x200 declares (the whole struct by default).
inline std::vector<uint8_t> make_bzimage(const setup_header& hdr,
                                         const std::vector<uint8_t>& kernel,
                                         size_t header_len = sizeof(setup_header)) {
  const unsigned sects = hdr.setup_sects == 0 ? 4 : hdr.setup_sects;
  std::vector<uint8_t> image((sects + 1) * 512, 0xcc);  // setup code stand-in
  setup_header with_jump = hdr;
  // jmp short (0xeb) over the rest of the header: its offset byte at 0x201 marks the header end.
  with_jump.jump = static_cast<uint16_t>(0xeb | (kHeaderOffset + header_len - 0x202) << 8);
  std::memcpy(image.data() + kHeaderOffset, &with_jump, sizeof(with_jump));
  image.insert(image.end(), kernel.begin(), kernel.end());
  return image;
}

}  // namespace kvrun::vmm::test_util
