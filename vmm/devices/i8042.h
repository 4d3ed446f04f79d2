// Just enough of the PC keyboard controller for a guest to reboot through it (Linux reboot=k
// pulses the CPU reset line with command 0xfe). No keyboard or mouse is attached.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "vmm/devices/io_bus.h"

namespace kvrun::vmm {

class I8042 : public BusDevice {
 public:
  // Registered at 0x60..0x64: offset 0 is the data port, offset 4 status (read) and command
  // (write). Port 0x61 in between belongs to the PIT speaker, which KVM handles in the kernel.
  static constexpr uint64_t kBase = 0x60;
  static constexpr uint64_t kSize = 5;
  static constexpr uint64_t kDataOffset = 0;
  static constexpr uint64_t kCommandOffset = 4;
  static constexpr uint8_t kCmdResetCpu = 0xfe;

  // `reset` is called once per reset command, from the vCPU thread that wrote it.
  explicit I8042(std::function<void()> reset);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  std::function<void()> reset_;
};

}  // namespace kvrun::vmm
