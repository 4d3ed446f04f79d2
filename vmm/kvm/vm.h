// One KVM virtual machine: its guest memory slots and the in-kernel interrupt controllers and
// timer (PIC, IOAPIC, per-vCPU LAPIC, PIT), which kvrun does not emulate itself.
#pragma once

#include <cstdint>
#include <utility>

#include "common/unique_fd.h"
#include "vmm/kvm/kvm_system.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {

class Vm {
 public:
  // Private to KVM in the MMIO gap below 4 GiB, away from RAM and from devices: the three
  // pages Intel's real-mode emulation needs for a TSS, and the page for its identity map.
  static constexpr uint64_t kTssAddr = 0xfffbd000;
  static constexpr uint64_t kIdentityMapAddr = 0xfffbc000;

  // KVM_CREATE_VM, then everything that must precede vCPU creation: TSS and identity-map
  // addresses, the irqchip and the PIT. Throws kvrun::Error naming the step.
  static Vm create(const KvmSystem& kvm);

  // One memory slot per region of `memory`, which must outlive this Vm.
  void set_memory(const GuestMemory& memory);

  // Drives an ISA/IOAPIC interrupt input line. Thread-safe (one ioctl on the VM fd).
  void set_irq_line(uint32_t irq, bool asserted) const;

  // Each write to `event_fd` pulses `gsi` (an IOAPIC pin; edge-triggered in our MP table) in
  // the kernel, without a vCPU exit or an ioctl per interrupt (KVM_IRQFD).
  void add_irqfd(int event_fd, uint32_t gsi) const;

  // A guest write of `len` bytes of value `datamatch` to MMIO address `addr` signals
  // `event_fd` inside KVM instead of exiting to a vCPU thread (KVM_IOEVENTFD).
  void add_ioeventfd(int event_fd, uint64_t addr, uint32_t len, uint64_t datamatch) const;

  int fd() const { return fd_.get(); }

 private:
  explicit Vm(UniqueFd fd) : fd_(std::move(fd)) {}

  UniqueFd fd_;
};

}  // namespace kvrun::vmm
