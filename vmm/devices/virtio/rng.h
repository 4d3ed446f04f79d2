// virtio-rng (virtio 1.2 §5.4): fills every buffer the driver offers with bytes from the
// host's getrandom(2), at once, so a guest never waits for entropy at boot. Not rate-limited:
// the host's CSPRNG is cheap and cannot run dry.
#pragma once

#include "vmm/devices/virtio/device.h"

namespace kvrun::vmm::virtio {

class Rng : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 64;
  // Largest amount served per buffer, so one huge request cannot hog the device thread.
  static constexpr uint64_t kMaxBytesPerBuffer = 64 * 1024;

  DeviceType type() const override { return DeviceType::kEntropy; }
  uint64_t features() const override { return 0; }
  std::vector<uint16_t> queue_max_sizes() const override { return {kQueueSize}; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void activate(const DeviceContext& context) override { context_ = &context; }
  void process_queue(size_t index) override;
  void reset() override { context_ = nullptr; }

 private:
  const DeviceContext* context_ = nullptr;
};

}  // namespace kvrun::vmm::virtio
