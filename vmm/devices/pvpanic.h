// A pvpanic-style I/O port (QEMU's pvpanic ISA device, one byte): the only way a guest tells
// kvrun-vmm that its kernel panicked. The guest kernel's panic notifier writes PVPANIC_PANICKED
// here (kernel-config/patches/0002-*); reads return the events the device takes, which the
// kernel checks before it relies on the port. Guest userspace reaches I/O ports only with
// iopl/ioperm (CAP_SYS_RAWIO), so unlike a line on the console, no container can fake a panic.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "vmm/devices/io_bus.h"

namespace kvrun::vmm {

class PvPanic : public BusDevice {
 public:
  // QEMU's pvpanic ISA port; placed in the guest's I/O space at layout::kPvPanicPort.
  static constexpr uint64_t kSize = 1;
  // Event bits, as in Linux's include/uapi/misc/pvpanic.h.
  static constexpr uint8_t kPanicked = 1u << 0;
  static constexpr uint8_t kCrashLoaded = 1u << 1;
  // What this device takes: a panic ends the VM; kdump (crash loaded) is not supported.
  static constexpr uint8_t kSupported = kPanicked;

  // `panicked` is called for every write that carries kPanicked.
  explicit PvPanic(std::function<void()> panicked);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  std::function<void()> panicked_;
};

// The guest command line switch that makes our kernel use the port (kvrun.pvpanic=0x505).
std::string pvpanic_cmdline(uint16_t port);

}  // namespace kvrun::vmm
