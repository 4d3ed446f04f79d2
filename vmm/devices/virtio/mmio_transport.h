// The virtio-mmio transport, version 2 (virtio 1.2 §4.2.2), written once for every device: a
// BusDevice holding the register file, feature negotiation, the device status state machine,
// queue setup, InterruptStatus/ACK, ConfigGeneration and the window onto the device's config
// space.
//
// The device status follows §3.1.1 step by step, and queue registers are written only between
// FEATURES_OK and DRIVER_OK: a running queue's size and rings cannot be changed by the driver,
// only dropped by a reset, which stops the device before any queue state changes.
//
// Guest notifications reach the device thread without a vCPU exit: each queue has an eventfd
// that the VMM registers with KVM_IOEVENTFD on QueueNotify (datamatch = queue index); a
// QueueNotify write that still arrives here (no KVM, or an unmatched value) just writes that
// same eventfd. Register accesses come from any vCPU thread; all device state sits behind one
// lock, except InterruptStatus/ACK, which the guest's interrupt handler reads lock-free.
#pragma once

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "vmm/devices/io_bus.h"
#include "vmm/devices/virtio/device.h"
#include "vmm/devices/virtio/event_loop.h"
#include "vmm/devices/virtio/interrupt.h"
#include "vmm/devices/virtio/queue.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm::virtio {

class MmioTransport : public BusDevice {
 public:
  // Registers the queue eventfds with `loop`; `memory`, `loop` and `device` must outlive the
  // transport, and the loop must stop before the transport is destroyed. `name` ("virtio-blk
  // vda") appears in logs.
  MmioTransport(std::shared_ptr<VirtioDevice> device, GuestMemory& memory, EventLoop& loop,
                std::string name);
  ~MmioTransport() override;

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // For the VMM's KVM wiring: KVM_IRQFD on interrupt_fd(), KVM_IOEVENTFD per queue.
  int interrupt_fd() const { return interrupt_.fd(); }
  size_t num_queues() const { return queues_.size(); }
  int queue_notify_fd(size_t index) const { return notify_fds_[index].get(); }

  const std::string& name() const { return name_; }
  // The device's config space changed outside a request (a disk slot's media): bumps
  // ConfigGeneration and raises the config-change interrupt. Safe from any thread.
  void notify_config_change() { config_changed(); }
  uint32_t status() const;
  uint64_t offered_features() const { return offered_features_; }

 private:
  uint32_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint32_t value);
  void write_status(uint32_t value);
  bool features_acceptable() const;
  bool queue_setup_allowed() const;
  void activate();
  // Stops the device and its callbacks (if it runs); queue state stays as it is.
  void deactivate();
  void reset();
  void fail(const std::string& why);
  void on_notify(size_t index);
  void check_queues();
  void watch(int fd, uint32_t events, std::function<void(uint32_t)> callback);
  void config_changed();
  Queue* selected_queue();
  // Logs what the driver did wrong: at warning level the first few times, then at debug, so a
  // guest repeating it cannot flood the host's logs (the queue does the same for bad chains).
  template <typename... Args>
  void warn_guest(spdlog::format_string_t<Args...> format, Args&&... args) const {
    const auto level =
        ++guest_warnings_ <= kLoudGuestWarnings ? spdlog::level::warn : spdlog::level::debug;
    spdlog::log(level, format, std::forward<Args>(args)...);
  }
  static constexpr uint64_t kLoudGuestWarnings = 8;

  std::shared_ptr<VirtioDevice> device_;
  GuestMemory& memory_;
  EventLoop& loop_;
  std::string name_;
  const uint64_t offered_features_;
  Interrupt interrupt_;
  std::vector<UniqueFd> notify_fds_;
  std::vector<EventLoop::Registration> notify_watches_;
  std::atomic<uint32_t> config_generation_{0};

  mutable std::mutex mutex_;  // everything below
  std::vector<Queue> queues_;
  uint32_t status_ = 0;
  uint32_t device_features_sel_ = 0;
  uint32_t driver_features_sel_ = 0;
  uint64_t driver_features_ = 0;
  uint32_t queue_sel_ = 0;
  bool active_ = false;
  std::unique_ptr<DeviceContext> context_;
  // Watches a device set up through its DeviceContext, with the flag their callbacks check
  // under the lock (removal cannot wait for a running callback: see EventLoop::Registration).
  struct DeviceWatch {
    EventLoop::Registration registration;
    std::shared_ptr<bool> alive;
  };
  std::vector<DeviceWatch> device_watches_;
  mutable uint64_t guest_warnings_ = 0;  // never reset: a reset loop must not re-arm it
};

}  // namespace kvrun::vmm::virtio
