#include "vmm/virtio_devices.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/error.h"
#include "vmm/boot/layout.h"
#include "vmm/control/client.h"
#include "vmm/devices/virtio/blk.h"
#include "vmm/devices/virtio/net/net_device.h"
#include "vmm/devices/virtio/rng.h"
#include "vmm/devices/virtio/virtio_spec.h"
#include "vmm/devices/virtio/vsock/vsock_device.h"

namespace kvrun::vmm {

std::vector<NamedDevice> create_virtio_devices(const VirtioConfig& config) {
  std::vector<NamedDevice> devices;
  for (size_t i = 0; i < config.disks.size(); ++i) {
    const DiskConfig& disk = config.disks[i];
    const std::string name = fmt::format("virtio-blk vd{} ({}{})", static_cast<char>('a' + i % 26),
                                         disk.path.string(), disk.read_only ? ", ro" : "");
    devices.push_back({name, virtio::Blk::open(disk.path, disk.read_only), nullptr});
  }
  for (unsigned slot = 0; slot < config.disk_slots; ++slot) {
    auto drive = virtio::Blk::empty_slot(fmt::format("kvrun-slot-{}", slot));
    devices.push_back({fmt::format("virtio-blk {} (slot {}, ro)",
                                   control::guest_disk_name(config.disks.size(), slot), slot),
                       drive, drive});
  }
  for (const net::NetConfig& net : config.nets) {
    auto device = net::NetDevice::open(net);
    devices.push_back({fmt::format("virtio-net {} ({})", net.tap, net::format_mac(device->mac())),
                       std::move(device), nullptr});
  }
  if (config.rng) devices.push_back({"virtio-rng", std::make_shared<virtio::Rng>(), nullptr});
  if (config.vsock) {
    devices.push_back({fmt::format("virtio-vsock cid {} ({})", config.vsock->guest_cid,
                                   config.vsock->uds_path.string()),
                       std::make_shared<virtio::Vsock>(*config.vsock), nullptr});
  }
  return devices;
}

VirtioMmioDevices::VirtioMmioDevices(std::vector<NamedDevice> devices, GuestMemory& memory,
                                     EventLoop& loop) {
  if (devices.size() > layout::kMaxVirtioDevices) {
    throw Error(fmt::format("{} virtio devices requested; at most {} have an IRQ", devices.size(),
                            layout::kMaxVirtioDevices));
  }
  for (size_t i = 0; i < devices.size(); ++i) {
    Slot slot;
    slot.base = layout::kVirtioMmioBase + i * virtio::mmio::kWindowSize;
    slot.irq = layout::kVirtioIrqs[i];
    slot.name = devices[i].name;
    slot.disk_slot = devices[i].disk_slot;
    slot.transport = std::make_shared<virtio::MmioTransport>(std::move(devices[i].device), memory,
                                                             loop, devices[i].name);
    slots_.push_back(std::move(slot));
  }
}

std::vector<control::DiskSlot> VirtioMmioDevices::disk_slots() const {
  std::vector<control::DiskSlot> found;
  for (const Slot& slot : slots_) {
    if (slot.disk_slot) found.push_back({slot.disk_slot, slot.transport});
  }
  return found;
}

std::string VirtioMmioDevices::cmdline() const {
  std::string out;
  for (const Slot& slot : slots_) {
    out += fmt::format(" virtio_mmio.device=4K@{:#x}:{}", slot.base, slot.irq);
  }
  return out;
}

void VirtioMmioDevices::attach(const Vm& vm, IoBus& mmio) const {
  for (const Slot& slot : slots_) {
    vm.add_irqfd(slot.transport->interrupt_fd(), slot.irq);
    for (size_t q = 0; q < slot.transport->num_queues(); ++q) {
      vm.add_ioeventfd(slot.transport->queue_notify_fd(q), slot.base + virtio::mmio::kQueueNotify,
                       4, q);
    }
    mmio.insert(slot.transport, slot.base, virtio::mmio::kWindowSize, slot.name);
    spdlog::debug("{}: MMIO {:#x}, IRQ {}", slot.name, slot.base, slot.irq);
  }
}

}  // namespace kvrun::vmm
