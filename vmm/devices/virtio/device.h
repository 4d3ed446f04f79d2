// What a virtio device implements to sit behind the virtio-mmio transport (one file per
// device: blk.cpp, rng.cpp, vsock/, net/). The transport owns the register file, feature
// negotiation, the queues' setup and the interrupt; the device owns its config space and what
// its requests mean.
//
// Threading: every method here, and every callback registered through DeviceContext::watch,
// is called with the transport's device lock held (from a vCPU thread for config access,
// activate and reset; from the device thread for process_queue and watch callbacks). A device
// therefore needs no lock of its own for state it touches only from these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "vmm/devices/virtio/interrupt.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/devices/virtio/virtio_spec.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm::virtio {

// What a device gets when the driver sets DRIVER_OK; valid until reset().
class DeviceContext {
 public:
  using WatchFunction =
      std::function<void(int fd, uint32_t events, std::function<void(uint32_t events)> callback)>;
  DeviceContext(GuestMemory& memory, std::span<Queue> queues, Interrupt& interrupt,
                uint64_t features, WatchFunction watch, std::function<void()> config_changed)
      : memory_(memory),
        queues_(queues),
        interrupt_(interrupt),
        features_(features),
        watch_(std::move(watch)),
        config_changed_(std::move(config_changed)) {}

  GuestMemory& memory() const { return memory_; }
  // All the device's queues, by index. Those the driver did not enable are not active():
  // pop() on them returns nothing.
  std::span<Queue> queues() const { return queues_; }
  Queue& queue(size_t index) const { return queues_[index]; }
  // The features the driver accepted (device-specific bits included).
  uint64_t features() const { return features_; }
  bool has_feature(unsigned bit) const { return (features_ & feature_bit(bit)) != 0; }

  // Raises the used-buffer interrupt if the driver wants one for what was added to `queue`
  // since the last call (honours EVENT_IDX / NO_INTERRUPT).
  void notify_used(Queue& queue) const {
    if (queue.needs_interrupt()) interrupt_.signal_used_buffer();
  }
  Interrupt& interrupt() const { return interrupt_; }

  // Calls `callback` on the device thread, with the device lock held, when `fd` has `events`,
  // for as long as the device stays active: the transport removes the watch at reset, and a
  // callback never runs once reset() has begun. `fd` must stay open until reset() returns.
  void watch(int fd, uint32_t events, std::function<void(uint32_t events)> callback) const {
    watch_(fd, events, std::move(callback));
  }

  // The device changed its config space: bumps ConfigGeneration and tells the driver.
  void config_changed() const { config_changed_(); }

 private:
  GuestMemory& memory_;
  std::span<Queue> queues_;
  Interrupt& interrupt_;
  uint64_t features_;
  WatchFunction watch_;
  std::function<void()> config_changed_;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;

  virtual DeviceType type() const = 0;
  // Device-specific feature bits offered. The transport adds VERSION_1, INDIRECT_DESC and
  // EVENT_IDX itself.
  virtual uint64_t features() const = 0;
  // One entry per queue: its maximum size (a power of two).
  virtual std::vector<uint16_t> queue_max_sizes() const = 0;

  // Config space access; offset + data.size() may run past the config (the guest chooses
  // both): bytes past its end read as zero and are not written.
  virtual void read_config(uint64_t offset, std::span<uint8_t> data) const = 0;
  virtual void write_config(uint64_t /*offset*/, std::span<const uint8_t> /*data*/) {}

  // The driver set DRIVER_OK. `context` stays valid until reset(). Throwing kvrun::Error here
  // makes the transport report DEVICE_NEEDS_RESET.
  virtual void activate(const DeviceContext& context) = 0;
  // The driver notified queue `index` (on the device thread). Throwing kvrun::Error stops the
  // device (DEVICE_NEEDS_RESET); per-request problems are answered in the request's status.
  virtual void process_queue(size_t index) = 0;
  // The driver reset the device (status 0); drop everything activate() set up.
  virtual void reset() = 0;
};

// Copies the part of `config` (a device's whole config struct as bytes) that [offset, offset +
// out.size()) covers into `out`, zero-filling what lies beyond it.
inline void read_config_bytes(std::span<const uint8_t> config, uint64_t offset,
                              std::span<uint8_t> out) {
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = offset < config.size() && i < config.size() - offset ? config[offset + i] : 0;
  }
}

}  // namespace kvrun::vmm::virtio
