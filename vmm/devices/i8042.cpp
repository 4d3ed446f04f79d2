#include "vmm/devices/i8042.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace kvrun::vmm {

I8042::I8042(std::function<void()> reset) : reset_(std::move(reset)) {}

void I8042::read(uint64_t offset, std::span<uint8_t> data) {
  // Status 0: input buffer empty (so a guest waiting to send a command proceeds at once) and
  // output buffer empty (nothing to read). Ports in between float high like an empty bus.
  const uint8_t value = (offset == kDataOffset || offset == kCommandOffset) ? 0x00 : 0xff;
  std::fill(data.begin(), data.end(), value);
}

void I8042::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != kCommandOffset || data.size() != 1) {
    spdlog::debug("i8042: ignoring write of {} bytes at offset {}", data.size(), offset);
    return;
  }
  if (data[0] == kCmdResetCpu) {
    spdlog::info("i8042: guest requested a CPU reset");
    if (reset_) reset_();
    return;
  }
  spdlog::debug("i8042: ignoring command {:#04x}", data[0]);
}

}  // namespace kvrun::vmm
