#include "vmm/devices/virtio/mmio_transport.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

#include "common/error.h"
#include "vmm/devices/virtio/virtio_spec.h"

namespace kvrun::vmm::virtio {

namespace {

// What every device gets from the transport and the rings.
constexpr uint64_t kTransportFeatures = feature_bit(kFeatureVersion1) |
                                        feature_bit(kFeatureRingIndirectDesc) |
                                        feature_bit(kFeatureRingEventIdx);

uint32_t load_le32(std::span<const uint8_t> data) {
  uint32_t value = 0;
  std::memcpy(&value, data.data(), sizeof(value));
  return value;
}

void store_le32(std::span<uint8_t> data, uint32_t value) {
  std::memcpy(data.data(), &value, sizeof(value));
}

uint64_t set_low(uint64_t old, uint32_t low) { return (old & ~uint64_t{0xffffffff}) | low; }
uint64_t set_high(uint64_t old, uint32_t high) {
  return (old & uint64_t{0xffffffff}) | (uint64_t{high} << 32);
}

}  // namespace

MmioTransport::MmioTransport(std::shared_ptr<VirtioDevice> device, GuestMemory& memory,
                             EventLoop& loop, std::string name)
    : device_(std::move(device)),
      memory_(memory),
      loop_(loop),
      name_(std::move(name)),
      offered_features_(device_->features() | kTransportFeatures) {
  for (uint16_t max_size : device_->queue_max_sizes()) queues_.emplace_back(max_size);
  for (size_t i = 0; i < queues_.size(); ++i) {
    UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!fd) throw_errno(name_ + ": eventfd for queue " + std::to_string(i));
    notify_watches_.push_back(loop_.add(fd.get(), EPOLLIN, [this, i](uint32_t) { on_notify(i); }));
    notify_fds_.push_back(std::move(fd));
  }
}

MmioTransport::~MmioTransport() {
  notify_watches_.clear();
  std::lock_guard lock(mutex_);
  deactivate();
}

uint32_t MmioTransport::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

void MmioTransport::read(uint64_t offset, std::span<uint8_t> data) {
  if (offset >= mmio::kConfig) {
    std::lock_guard lock(mutex_);
    device_->read_config(offset - mmio::kConfig, data);
    return;
  }
  // Registers are 32 bits wide and must be accessed as such (§4.2.2.2).
  if (data.size() != 4 || offset % 4 != 0) {
    spdlog::debug("{}: {}-byte read of register {:#x} ignored", name_, data.size(), offset);
    std::memset(data.data(), 0, data.size());
    return;
  }
  if (offset == mmio::kInterruptStatus) {
    store_le32(data, interrupt_.status());  // the interrupt handler's path: no lock
    return;
  }
  std::lock_guard lock(mutex_);
  store_le32(data, read_register(offset));
}

void MmioTransport::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset >= mmio::kConfig) {
    std::lock_guard lock(mutex_);
    device_->write_config(offset - mmio::kConfig, data);
    return;
  }
  if (data.size() != 4 || offset % 4 != 0) {
    spdlog::debug("{}: {}-byte write of register {:#x} ignored", name_, data.size(), offset);
    return;
  }
  const uint32_t value = load_le32(data);
  if (offset == mmio::kInterruptAck) {
    interrupt_.acknowledge(value);
    return;
  }
  if (offset == mmio::kQueueNotify) {
    // KVM's ioeventfd catches the writes it matches; the rest take the same path from here.
    if (value < notify_fds_.size()) {
      const uint64_t one = 1;
      if (::write(notify_fds_[value].get(), &one, sizeof(one)) < 0 && errno != EAGAIN) {
        spdlog::error("{}: queue notify: {}", name_, std::strerror(errno));
      }
    }
    return;
  }
  std::lock_guard lock(mutex_);
  write_register(offset, value);
}

Queue* MmioTransport::selected_queue() {
  return queue_sel_ < queues_.size() ? &queues_[queue_sel_] : nullptr;
}

uint32_t MmioTransport::read_register(uint64_t offset) {
  Queue* queue = selected_queue();
  switch (offset) {
    case mmio::kMagicValue:
      return mmio::kMagic;
    case mmio::kVersionReg:
      return mmio::kVersion;
    case mmio::kDeviceId:
      return static_cast<uint32_t>(device_->type());
    case mmio::kVendorIdReg:
      return mmio::kVendorId;
    case mmio::kDeviceFeatures:
      if (device_features_sel_ > 1) return 0;
      return static_cast<uint32_t>(offered_features_ >> (32 * device_features_sel_));
    case mmio::kQueueNumMax:
      return queue != nullptr ? queue->max_size() : 0;  // 0: no such queue
    case mmio::kQueueReady:
      return queue != nullptr && queue->ready() ? 1 : 0;
    case mmio::kStatus:
      return status_;
    case mmio::kQueueDescLow:
      return queue != nullptr ? static_cast<uint32_t>(queue->desc_table()) : 0;
    case mmio::kQueueDescHigh:
      return queue != nullptr ? static_cast<uint32_t>(queue->desc_table() >> 32) : 0;
    case mmio::kQueueDriverLow:
      return queue != nullptr ? static_cast<uint32_t>(queue->avail_ring()) : 0;
    case mmio::kQueueDriverHigh:
      return queue != nullptr ? static_cast<uint32_t>(queue->avail_ring() >> 32) : 0;
    case mmio::kQueueDeviceLow:
      return queue != nullptr ? static_cast<uint32_t>(queue->used_ring()) : 0;
    case mmio::kQueueDeviceHigh:
      return queue != nullptr ? static_cast<uint32_t>(queue->used_ring() >> 32) : 0;
    case mmio::kShmLenLow:
    case mmio::kShmLenHigh:
      return 0xffffffff;  // no shared memory regions (§4.2.2.1: length -1)
    case mmio::kConfigGeneration:
      return config_generation_.load();
    default:
      spdlog::debug("{}: read of write-only or unknown register {:#x}", name_, offset);
      return 0;
  }
}

void MmioTransport::write_register(uint64_t offset, uint32_t value) {
  if (offset == mmio::kStatus) {
    write_status(value);
    return;
  }
  if (offset == mmio::kDeviceFeaturesSel) {
    device_features_sel_ = value;
    return;
  }
  if (offset == mmio::kDriverFeaturesSel) {
    driver_features_sel_ = value;
    return;
  }
  if (offset == mmio::kQueueSel) {
    queue_sel_ = value;
    return;
  }
  if (offset == mmio::kDriverFeatures) {
    // Features are fixed once FEATURES_OK is set (§3.1.1).
    const bool negotiating = (status_ & kStatusDriver) != 0 && (status_ & kStatusFeaturesOk) == 0;
    if (!negotiating || driver_features_sel_ > 1) {
      spdlog::debug("{}: driver features write ignored (status {:#x}, select {})", name_, status_,
                    driver_features_sel_);
      return;
    }
    driver_features_ = driver_features_sel_ == 0 ? set_low(driver_features_, value)
                                                 : set_high(driver_features_, value);
    return;
  }

  Queue* queue = selected_queue();
  if (queue == nullptr) {
    spdlog::debug("{}: write of register {:#x} for missing queue {} ignored", name_, offset,
                  queue_sel_);
    return;
  }
  // Queues are set up after FEATURES_OK and before DRIVER_OK (§3.1.1 step 7). Outside that
  // window a write would change a ring under a running device (QueueReady=0, a new QueueNum
  // and new addresses, then a notify), so none is taken: not even QueueReady=0, which the
  // spec allows only with VIRTIO_F_RING_RESET, which we do not offer.
  if (!queue_setup_allowed()) {
    spdlog::debug("{}: write of register {:#x} for queue {} ignored in status {:#x}", name_, offset,
                  queue_sel_, status_);
    return;
  }
  if (offset == mmio::kQueueReady) {
    if (value == 0) {
      queue->set_ready(false);
      return;
    }
    if (auto why = queue->check_layout(memory_)) {
      warn_guest("{}: queue {} not enabled: {}", name_, queue_sel_, *why);
      return;
    }
    queue->set_ready(true);
    return;
  }
  // The rest configure a queue, which the driver must not do while it is enabled (§4.2.2.3).
  if (queue->ready()) {
    spdlog::debug("{}: write of register {:#x} for enabled queue {} ignored", name_, offset,
                  queue_sel_);
    return;
  }
  switch (offset) {
    case mmio::kQueueNum:
      queue->set_size(static_cast<uint16_t>(value > 0xffff ? 0 : value));
      break;
    case mmio::kQueueDescLow:
      queue->set_desc_table(set_low(queue->desc_table(), value));
      break;
    case mmio::kQueueDescHigh:
      queue->set_desc_table(set_high(queue->desc_table(), value));
      break;
    case mmio::kQueueDriverLow:
      queue->set_avail_ring(set_low(queue->avail_ring(), value));
      break;
    case mmio::kQueueDriverHigh:
      queue->set_avail_ring(set_high(queue->avail_ring(), value));
      break;
    case mmio::kQueueDeviceLow:
      queue->set_used_ring(set_low(queue->used_ring(), value));
      break;
    case mmio::kQueueDeviceHigh:
      queue->set_used_ring(set_high(queue->used_ring(), value));
      break;
    default:
      spdlog::debug("{}: write of read-only or unknown register {:#x} ignored", name_, offset);
  }
}

bool MmioTransport::queue_setup_allowed() const {
  return (status_ & kStatusFeaturesOk) != 0 &&
         (status_ & (kStatusDriverOk | kStatusFailed | kStatusDeviceNeedsReset)) == 0;
}

bool MmioTransport::features_acceptable() const {
  if ((driver_features_ & ~offered_features_) != 0) {
    warn_guest("{}: driver accepted features {:#x} that were not offered", name_,
               driver_features_ & ~offered_features_);
    return false;
  }
  // A legacy driver would expect a different ring and config layout.
  if ((driver_features_ & feature_bit(kFeatureVersion1)) == 0) {
    warn_guest("{}: driver did not accept VIRTIO_F_VERSION_1", name_);
    return false;
  }
  return true;
}

void MmioTransport::write_status(uint32_t value) {
  if (value == 0) {
    reset();
    return;
  }
  // Apart from a reset, the driver only ever adds bits (§2.1.1); NEEDS_RESET is ours.
  const uint32_t driver_bits = status_ & ~kStatusDeviceNeedsReset;
  if ((value & driver_bits) != driver_bits || (value & kStatusDeviceNeedsReset) != 0) {
    spdlog::debug("{}: status {:#x} -> {:#x} clears or sets a bit it may not; ignored", name_,
                  status_, value);
    return;
  }
  const uint32_t added = value & ~status_;
  uint32_t next = value | (status_ & kStatusDeviceNeedsReset);
  // Each step of §3.1.1 needs the ones before it; a bit added out of order is dropped.
  if ((added & kStatusDriver) != 0 && (next & kStatusAcknowledge) == 0) next &= ~kStatusDriver;
  if ((added & kStatusFeaturesOk) != 0) {
    const bool in_order = (next & kStatusAcknowledge) != 0 && (next & kStatusDriver) != 0;
    // Leaving FEATURES_OK clear is how a device refuses the features (§3.1.1 step 6).
    if (!in_order || !features_acceptable()) next &= ~kStatusFeaturesOk;
  }
  if ((added & kStatusDriverOk) != 0 && ((next & kStatusFeaturesOk) == 0 ||
                                         (next & (kStatusFailed | kStatusDeviceNeedsReset)) != 0)) {
    warn_guest("{}: DRIVER_OK without FEATURES_OK, or after FAILED or NEEDS_RESET; ignored", name_);
    next &= ~kStatusDriverOk;
  }
  status_ = next;
  // The driver gave up on the device: stop using the memory it pointed us at.
  if ((added & kStatusFailed) != 0) deactivate();
  if ((added & kStatusDriverOk) != 0 && (status_ & kStatusDriverOk) != 0) activate();
}

void MmioTransport::activate() {
  try {
    for (Queue& queue : queues_) {
      if (queue.ready()) queue.activate(memory_, driver_features_);
    }
    context_ = std::make_unique<DeviceContext>(
        memory_, std::span<Queue>(queues_), interrupt_, driver_features_,
        [this](int fd, uint32_t events, std::function<void(uint32_t)> callback) {
          watch(fd, events, std::move(callback));
        },
        [this] { config_changed(); });
    active_ = true;
    device_->activate(*context_);
    spdlog::debug("{}: activated, features {:#x}", name_, driver_features_);
  } catch (const std::exception& e) {
    fail(std::string("activation failed: ") + e.what());
  }
}

void MmioTransport::fail(const std::string& why) {
  warn_guest("{}: device needs reset: {}", name_, why);
  deactivate();
  status_ |= kStatusDeviceNeedsReset;
  config_changed();
}

void MmioTransport::deactivate() {
  if (!active_) return;
  // The device and every callback of its stop first: no queue state may change under them.
  active_ = false;
  for (DeviceWatch& w : device_watches_) *w.alive = false;
  device_watches_.clear();
  try {
    device_->reset();
  } catch (const std::exception& e) {
    spdlog::error("{}: reset: {}", name_, e.what());
  }
}

void MmioTransport::reset() {
  deactivate();
  context_.reset();
  for (Queue& queue : queues_) queue.reset();
  status_ = 0;
  device_features_sel_ = driver_features_sel_ = 0;
  driver_features_ = 0;
  queue_sel_ = 0;
  interrupt_.clear();
}

void MmioTransport::on_notify(size_t index) {
  uint64_t count = 0;
  if (::read(notify_fds_[index].get(), &count, sizeof(count)) < 0 && errno != EAGAIN) {
    spdlog::error("{}: reading queue {} notification: {}", name_, index, std::strerror(errno));
  }
  std::lock_guard lock(mutex_);
  if (!active_ || !queues_[index].active()) return;
  try {
    device_->process_queue(index);
  } catch (const std::exception& e) {
    fail("queue " + std::to_string(index) + ": " + e.what());
    return;
  }
  check_queues();
}

void MmioTransport::check_queues() {
  for (size_t i = 0; i < queues_.size(); ++i) {
    if (queues_[i].broken()) {
      fail("queue " + std::to_string(i) + ": " + queues_[i].broken_reason());
      return;
    }
  }
}

void MmioTransport::watch(int fd, uint32_t events, std::function<void(uint32_t)> callback) {
  // Called by the device from activate() or a callback: the lock is held.
  auto alive = std::make_shared<bool>(true);
  EventLoop::Registration registration =
      loop_.add(fd, events, [this, alive, callback = std::move(callback)](uint32_t fired) {
        std::lock_guard lock(mutex_);
        if (!*alive) return;
        try {
          callback(fired);
        } catch (const std::exception& e) {
          fail(e.what());
          return;
        }
        check_queues();
      });
  device_watches_.push_back({std::move(registration), std::move(alive)});
}

void MmioTransport::config_changed() {
  config_generation_.fetch_add(1);
  interrupt_.signal_config_change();
}

}  // namespace kvrun::vmm::virtio
