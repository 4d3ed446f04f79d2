// A virtio-mmio device's interrupt: the InterruptStatus bits the guest reads and acknowledges,
// and an eventfd that KVM turns into an edge on the device's IOAPIC pin (KVM_IRQFD), so that
// raising it from the device thread never involves a vCPU thread or an ioctl.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/unique_fd.h"

namespace kvrun::vmm::virtio {

class Interrupt {
 public:
  Interrupt();  // throws kvrun::Error if the eventfd cannot be created

  // Sets the bit and raises the line. Thread-safe.
  void signal_used_buffer();
  void signal_config_change();

  uint32_t status() const { return status_.load(std::memory_order_acquire); }
  void acknowledge(uint32_t bits) { status_.fetch_and(~bits, std::memory_order_acq_rel); }
  void clear() { status_.store(0, std::memory_order_release); }

  // The eventfd: each write is one interrupt. Registered with KVM_IRQFD by the VMM; tests
  // read it to count interrupts.
  int fd() const { return fd_.get(); }

 private:
  void raise(uint32_t bit);

  std::atomic<uint32_t> status_{0};
  UniqueFd fd_;
};

}  // namespace kvrun::vmm::virtio
