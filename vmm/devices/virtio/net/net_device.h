// virtio-net (virtio 1.2 §5.1) on a tap device: queue 0 receives, queue 1 transmits.
//
// TX: the driver's notification (ioeventfd) runs process_queue(1): every chain is parsed
// (tx_frame.h) and written to the tap with one writev, straight from guest memory.
// RX: the tap fd is watched edge-triggered on the device thread; frames are read until the tap
// is empty or the guest has no buffer left. In the latter case the chain-less tap stays
// readable and the driver's next RX notification resumes reading (process_queue(0)).
// Offloads: what the tap accepts is offered, and at activation the tap is told which offloaded
// frames the guest negotiated to receive (offloads.h).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "vmm/devices/virtio/device.h"
#include "vmm/devices/virtio/net/net_option.h"
#include "vmm/devices/virtio/net/rx_buffer.h"
#include "vmm/devices/virtio/net/tap.h"
#include "vmm/devices/virtio/net/tx_frame.h"

namespace kvrun::vmm::net {

struct NetStats {
  uint64_t tx_frames = 0;
  uint64_t tx_bytes = 0;
  uint64_t tx_dropped = 0;  // malformed chains and frames the tap refused
  uint64_t rx_frames = 0;
  uint64_t rx_bytes = 0;
  uint64_t rx_dropped = 0;  // frames larger than the guest's buffer, malformed chains
};

class NetDevice : public virtio::VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr size_t kRxQueue = 0;
  static constexpr size_t kTxQueue = 1;

  NetDevice(Tap tap, MacAddress mac);
  // Opens the tap of `config` (see Tap::open) with its MAC or a random one.
  static std::shared_ptr<NetDevice> open(const NetConfig& config);

  virtio::DeviceType type() const override { return virtio::DeviceType::kNet; }
  uint64_t features() const override;
  std::vector<uint16_t> queue_max_sizes() const override { return {kQueueSize, kQueueSize}; }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void activate(const virtio::DeviceContext& context) override;
  void process_queue(size_t index) override;
  void reset() override;

  const MacAddress& mac() const { return mac_; }
  const Tap& tap() const { return tap_; }
  // Read under the transport's device lock, or after the device thread stopped.
  const NetStats& stats() const { return stats_; }

 private:
  void process_rx();
  void process_tx();
  // Reads one frame into the pending chain: the used length, 0 for a frame that was dropped,
  // or nullopt when the tap has nothing more.
  std::optional<uint32_t> receive_one();

  Tap tap_;
  MacAddress mac_;
  const virtio::DeviceContext* context_ = nullptr;
  NetStats stats_;

  TxFrame tx_frame_;
  // The RX chain taken from the ring but not filled yet: the tap ran dry first.
  std::optional<virtio::DescriptorChain> rx_chain_;
  RxBuffer rx_buffer_;
  std::vector<uint8_t> bounce_;  // for guest buffers smaller than the largest frame
};

}  // namespace kvrun::vmm::net
