// kvrun's exit port (layout::kExitPort): a guest ends the VM with a status of its choosing by
// writing one byte. Test guests and our /init use it to report results without a console.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "vmm/devices/io_bus.h"

namespace kvrun::vmm {

class ExitPort : public BusDevice {
 public:
  // Claims a 32-bit wide port so outb, outw and outl all land here; the status is the low
  // (first) byte of a write at offset 0.
  static constexpr uint64_t kSize = 4;

  explicit ExitPort(std::function<void(uint8_t status)> exit);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  std::function<void(uint8_t)> exit_;
};

}  // namespace kvrun::vmm
