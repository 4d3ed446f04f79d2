#include "vmm/kvm/vm.h"

#include <spdlog/spdlog.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "common/error.h"

namespace kvrun::vmm {

Vm Vm::create(const KvmSystem& kvm) {
  int fd;
  do {
    fd = ::ioctl(kvm.fd(), KVM_CREATE_VM, 0);  // EINTR is possible while KVM sets up the MMU
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_errno(kvm.path() + ": KVM_CREATE_VM");
  Vm vm{UniqueFd(fd)};

  // Only Intel's VMX backend needs these; where KVM does not offer them they do not apply.
  if (kvm.check_extension(KVM_CAP_SET_TSS_ADDR) > 0 &&
      ::ioctl(vm.fd(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(kTssAddr)) < 0) {
    throw_errno("KVM_SET_TSS_ADDR");
  }
  if (kvm.check_extension(KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
    uint64_t addr = kIdentityMapAddr;
    if (::ioctl(vm.fd(), KVM_SET_IDENTITY_MAP_ADDR, &addr) < 0) {
      throw_errno("KVM_SET_IDENTITY_MAP_ADDR");
    }
  }
  if (::ioctl(vm.fd(), KVM_CREATE_IRQCHIP, 0) < 0) throw_errno("KVM_CREATE_IRQCHIP");
  // The dummy speaker claims port 0x61 in the kernel: Linux polls it while calibrating
  // against PIT channel 2, and each poll would otherwise be an exit to us.
  kvm_pit_config pit{};
  pit.flags = KVM_PIT_SPEAKER_DUMMY;
  if (::ioctl(vm.fd(), KVM_CREATE_PIT2, &pit) < 0) throw_errno("KVM_CREATE_PIT2");
  return vm;
}

void Vm::set_memory(const GuestMemory& memory) {
  uint32_t slot = 0;
  for (const MemoryRegion& region : memory.regions()) {
    kvm_userspace_memory_region mem{};
    mem.slot = slot;
    mem.flags = 0;
    mem.guest_phys_addr = region.guest_base;
    mem.memory_size = region.size;
    mem.userspace_addr = reinterpret_cast<uint64_t>(region.host);
    if (::ioctl(fd(), KVM_SET_USER_MEMORY_REGION, &mem) < 0) {
      throw_errno(fmt::format("KVM_SET_USER_MEMORY_REGION slot {} ({:#x} size {:#x})", slot,
                              region.guest_base, region.size));
    }
    spdlog::debug("memory slot {}: guest {:#x} size {:#x}", slot, region.guest_base, region.size);
    ++slot;
  }
}

void Vm::set_irq_line(uint32_t irq, bool asserted) const {
  kvm_irq_level line{};
  line.irq = irq;
  line.level = asserted ? 1 : 0;
  if (::ioctl(fd(), KVM_IRQ_LINE, &line) < 0) {
    // Called from device code on vCPU threads; a failure here is a KVM bug, not fatal for the
    // guest beyond a lost interrupt, so log rather than unwind through the device.
    spdlog::error("KVM_IRQ_LINE irq {} level {}: {}", irq, line.level, std::strerror(errno));
  }
}

void Vm::add_irqfd(int event_fd, uint32_t gsi) const {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(event_fd);
  irqfd.gsi = gsi;
  if (::ioctl(fd(), KVM_IRQFD, &irqfd) < 0) throw_errno(fmt::format("KVM_IRQFD gsi {}", gsi));
}

void Vm::add_ioeventfd(int event_fd, uint64_t addr, uint32_t len, uint64_t datamatch) const {
  kvm_ioeventfd ioeventfd{};
  ioeventfd.datamatch = datamatch;
  ioeventfd.addr = addr;
  ioeventfd.len = len;
  ioeventfd.fd = event_fd;
  ioeventfd.flags = KVM_IOEVENTFD_FLAG_DATAMATCH;
  if (::ioctl(fd(), KVM_IOEVENTFD, &ioeventfd) < 0) {
    throw_errno(fmt::format("KVM_IOEVENTFD at {:#x} value {}", addr, datamatch));
  }
}

}  // namespace kvrun::vmm
