#include "vmm/devices/virtio/vsock/vsock_device.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>

#include <array>

#include "vmm/devices/virtio/vsock/guest_packet.h"

namespace kvrun::vmm::virtio {
namespace {

vsock::MuxerConfig muxer_config(const vsock::VsockConfig& config) {
  vsock::MuxerConfig m;
  m.guest_cid = config.guest_cid;
  m.uds_path = config.uds_path;
  return m;
}

}  // namespace

Vsock::Vsock(const vsock::VsockConfig& config)
    : guest_cid_(config.guest_cid), muxer_(muxer_config(config)) {}

void Vsock::read_config(uint64_t offset, std::span<uint8_t> data) const {
  std::array<uint8_t, 8> config;
  for (size_t i = 0; i < config.size(); ++i)
    config[i] = static_cast<uint8_t>(guest_cid_ >> (8 * i));
  read_config_bytes(config, offset, data);
}

void Vsock::activate(const DeviceContext& context) {
  context_ = &context;
  context.watch(muxer_.fd(), EPOLLIN, [this](uint32_t) {
    muxer_.process_host_events();
    run();
  });
  run();
}

void Vsock::reset() {
  context_ = nullptr;
  spare_rx_.reset();
  muxer_.reset();  // the guest's streams are gone: close their host sockets
}

void Vsock::process_queue(size_t index) {
  if (context_ == nullptr || index == kEventQueue) return;  // we never post events
  run();
}

void Vsock::run() {
  if (context_ == nullptr) return;
  for (;;) {
    const bool took = drain_tx();
    const bool gave = fill_rx();
    if (!took && !gave) return;
  }
}

bool Vsock::drain_tx() {
  Queue& tx = context_->queue(kTxQueue);
  bool any = false;
  do {
    // While replies pile up for want of RX buffers, leave the guest's TX packets in its ring.
    while (muxer_.accepts_guest_packets()) {
      std::optional<DescriptorChain> chain = tx.pop();
      if (!chain) break;
      any = true;
      vsock::GuestPacket packet;
      const vsock::HeaderError error =
          vsock::parse_guest_packet(chain->reader(), guest_cid_, packet);
      if (error == vsock::HeaderError::kOk) {
        muxer_.on_guest_packet(packet);
      } else {
        ++bad_packets_;
        spdlog::debug("vsock: dropped a guest packet: {}", vsock::header_error_name(error));
      }
      tx.add_used(chain->head(), 0);
    }
  } while (muxer_.accepts_guest_packets() && tx.enable_notification());
  if (any) context_->notify_used(tx);
  return any;
}

bool Vsock::fill_rx() {
  Queue& rx = context_->queue(kRxQueue);
  bool any = false;
  while (muxer_.has_rx()) {
    if (!spare_rx_) {
      spare_rx_ = rx.pop();
      if (!spare_rx_) {
        if (rx.enable_notification()) continue;
        break;
      }
    }
    const DescriptorChain& chain = *spare_rx_;
    ChainWriter writable = chain.writer();
    ChainWriter header_space = writable.take(vsock::kHeaderSize);
    if (header_space.available() < vsock::kHeaderSize) {
      rx.add_used(chain.head(), 0);  // cannot hold even a header: give it back unused
      spare_rx_.reset();
      any = true;
      continue;
    }
    const ChainWriter payload_space = writable.take(vsock::kMaxPayload);
    const std::optional<vsock::Header> header = muxer_.fill_rx(payload_space);
    if (!header && payload_space.available() == 0) {
      // Header-only buffer while only data waits: it can never carry that, so give it back.
      rx.add_used(chain.head(), 0);
      spare_rx_.reset();
      any = true;
      continue;
    }
    if (!header) break;  // keep the buffer for the next packet
    const vsock::WireHeader wire = vsock::encode(*header);
    header_space.write_all(wire);
    rx.add_used(chain.head(), static_cast<uint32_t>(vsock::kHeaderSize + header->len));
    spare_rx_.reset();
    any = true;
  }
  if (any) context_->notify_used(rx);
  return any;
}

}  // namespace kvrun::vmm::virtio
