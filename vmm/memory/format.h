// Formatting of guest addresses and sizes for error messages, so every module names a range
// the same way ("[0x100000, 0x200000)", "8 MiB").
#pragma once

#include <cstdint>
#include <string>

namespace kvrun::vmm {

// "0x1f00".
std::string hex(uint64_t value);

// "[0x1000, 0x2000)"; a range whose end does not fit in 64 bits is shown as "0x..+0x..".
std::string format_range(uint64_t start, uint64_t len);

// "8 MiB" for a whole number of MiB, "2.5 MiB" for other sizes from 1 MiB, else "1234 bytes".
std::string format_size(uint64_t bytes);

}  // namespace kvrun::vmm
