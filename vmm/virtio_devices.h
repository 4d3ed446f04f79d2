// The virtio devices of one VM: what the command line asks for, and their wiring onto the MMIO
// bus (one 4 KiB window and one IRQ each, announced to the guest kernel on its command line
// with virtio_mmio.device=). Adding a device type: a field and a parse function in
// virtio_config.h, an option in main.cpp, a few lines in create_virtio_devices().
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "vmm/control/server.h"
#include "vmm/devices/io_bus.h"
#include "vmm/devices/virtio/blk.h"
#include "vmm/devices/virtio/device.h"
#include "vmm/devices/virtio/event_loop.h"
#include "vmm/devices/virtio/mmio_transport.h"
#include "vmm/kvm/vm.h"
#include "vmm/memory/guest_memory.h"
#include "vmm/virtio_config.h"

namespace kvrun::vmm {

struct NamedDevice {
  std::string name;  // "virtio-blk vda (PATH)": for logs
  std::shared_ptr<virtio::VirtioDevice> device;
  std::shared_ptr<virtio::Blk> disk_slot;  // the same device, when it is a disk slot
};

// Creates the configured devices, opening their files: errors surface here, before KVM.
std::vector<NamedDevice> create_virtio_devices(const VirtioConfig& config);

class VirtioMmioDevices {
 public:
  // Device i gets the window layout::kVirtioMmioBase + i * 4 KiB and IRQ layout::kVirtioIrqs[i].
  // Throws kvrun::Error if there are more devices than IRQs.
  VirtioMmioDevices(std::vector<NamedDevice> devices, GuestMemory& memory, EventLoop& loop);

  // " virtio_mmio.device=4K@0xd0000000:5 ..." for the guest's kernel command line ("" if none).
  std::string cmdline() const;

  // KVM_IRQFD for each interrupt, KVM_IOEVENTFD for each queue, then the transports on `mmio`.
  void attach(const Vm& vm, IoBus& mmio) const;

  size_t size() const { return slots_.size(); }
  const virtio::MmioTransport& transport(size_t i) const { return *slots_[i].transport; }
  // The disk slots with their transports, in order, for the control socket.
  std::vector<control::DiskSlot> disk_slots() const;

 private:
  struct Slot {
    std::shared_ptr<virtio::MmioTransport> transport;
    std::shared_ptr<virtio::Blk> disk_slot;
    uint64_t base;
    uint32_t irq;
    std::string name;
  };
  std::vector<Slot> slots_;
};

}  // namespace kvrun::vmm
