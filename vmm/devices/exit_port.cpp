#include "vmm/devices/exit_port.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace kvrun::vmm {

ExitPort::ExitPort(std::function<void(uint8_t)> exit) : exit_(std::move(exit)) {}

void ExitPort::read(uint64_t /*offset*/, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0xff});
}

void ExitPort::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.empty()) {
    spdlog::debug("exit port: ignoring write of {} bytes at offset {}", data.size(), offset);
    return;
  }
  spdlog::info("exit port: guest requested exit status {}", data[0]);
  if (exit_) exit_(data[0]);
}

}  // namespace kvrun::vmm
