// The guest's serial output on its way to the host: written to the console fd (kvrun-vmm's
// stdout) unbuffered, and watched for a kernel panic.
#pragma once

#include <cstdint>
#include <span>

#include "vmm/devices/panic_detector.h"
#include "vmm/stop.h"

namespace kvrun::vmm {

class ConsoleOutput {
 public:
  // `fd` is borrowed; `stop` is asked to stop the VM on a panic, and cuts a blocked write short.
  ConsoleOutput(int fd, VmStop& stop) : fd_(fd), stop_(stop) {}

  // The UART's output sink: called with the UART's lock held, so from one thread at a time.
  void write(std::span<const uint8_t> bytes);

 private:
  void write_all(std::span<const uint8_t> bytes);

  int fd_;
  VmStop& stop_;
  PanicDetector detector_;
  bool broken_ = false;
};

}  // namespace kvrun::vmm
