#include "vmm/devices/pvpanic.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace kvrun::vmm {

PvPanic::PvPanic(std::function<void()> panicked) : panicked_(std::move(panicked)) {}

void PvPanic::read(uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), uint8_t{0});
  if (offset == 0 && !data.empty()) data[0] = kSupported;
}

void PvPanic::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.empty()) return;
  if ((data[0] & kPanicked) == 0) {
    spdlog::debug("pvpanic: ignoring event {:#x}", data[0]);
    return;
  }
  spdlog::info("pvpanic: the guest kernel reported a panic");
  if (panicked_) panicked_();
}

std::string pvpanic_cmdline(uint16_t port) { return fmt::format(" kvrun.pvpanic={:#x}", port); }

}  // namespace kvrun::vmm
