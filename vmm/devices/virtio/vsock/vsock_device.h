// virtio-vsock (virtio 1.2 §5.10) in userspace: queues rx (0), tx (1) and event (2), config =
// the guest's CID. The device moves packets between the queues and the Muxer, which owns every
// stream and host socket; its epoll fd is watched on the device thread.
//
//   tx: each chain is parsed and validated (guest_packet.h) and handed to the muxer; a chain
//       that fails is dropped (returned used) and counted.
//   rx: while the muxer has something for the guest, a buffer is taken and the packet written
//       into it (header + payload, however the guest split the buffer). A buffer taken but not
//       needed is kept for the next packet, never returned empty.
#pragma once

#include <optional>

#include "vmm/devices/virtio/device.h"
#include "vmm/devices/virtio/vsock/muxer.h"
#include "vmm/devices/virtio/vsock/vsock_option.h"

namespace kvrun::vmm::virtio {

class Vsock : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr size_t kRxQueue = 0, kTxQueue = 1, kEventQueue = 2;

  // Binds the Unix socket now, so host clients may connect before the guest is up (they are
  // served once its driver is). Throws kvrun::Error.
  explicit Vsock(const vsock::VsockConfig& config);

  DeviceType type() const override { return DeviceType::kVsock; }
  uint64_t features() const override { return 0; }  // stream only: no SEQPACKET
  std::vector<uint16_t> queue_max_sizes() const override {
    return {kQueueSize, kQueueSize, kQueueSize};
  }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override;
  void activate(const DeviceContext& context) override;
  void process_queue(size_t index) override;
  void reset() override;

  const vsock::MuxerStats& stats() const { return muxer_.stats(); }
  uint64_t bad_packets() const { return bad_packets_; }

 private:
  // Moves packets both ways until neither queue makes progress.
  void run();
  bool drain_tx();
  bool fill_rx();

  uint64_t guest_cid_;
  vsock::Muxer muxer_;
  const DeviceContext* context_ = nullptr;
  std::optional<DescriptorChain> spare_rx_;
  uint64_t bad_packets_ = 0;
};

}  // namespace kvrun::vmm::virtio
