#include "vmm/devices/virtio/net/net_device.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "vmm/devices/virtio/net/offloads.h"

namespace kvrun::vmm::net {
namespace {

// §5.1.4: mac[6], status (with VIRTIO_NET_F_STATUS). Nothing past it is offered.
struct [[gnu::packed]] NetConfigSpace {
  uint8_t mac[6];
  uint16_t status;
};

// Per-kind guest mistakes logged at warning level; after that only at debug level, so a
// hostile guest cannot flood the host's logs.
constexpr uint64_t kLoudDrops = 8;

}  // namespace

NetDevice::NetDevice(Tap tap, MacAddress mac)
    : tap_(std::move(tap)), mac_(mac), bounce_(kNetHeaderBytes + kMaxFrameBytes + 1) {}

std::shared_ptr<NetDevice> NetDevice::open(const NetConfig& config) {
  const MacAddress mac = config.mac ? *config.mac : random_mac();
  return std::make_shared<NetDevice>(Tap::open(config.tap, config.netns), mac);
}

uint64_t NetDevice::features() const {
  // The transport adds VERSION_1 itself.
  return offered_features(tap_.supported_offloads()) & ~feature_bit(feature::kVersion1);
}

void NetDevice::read_config(uint64_t offset, std::span<uint8_t> data) const {
  NetConfigSpace config{};
  std::memcpy(config.mac, mac_.data(), mac_.size());
  config.status = kStatusLinkUp;
  virtio::read_config_bytes({reinterpret_cast<const uint8_t*>(&config), sizeof(config)}, offset,
                            data);
}

void NetDevice::activate(const virtio::DeviceContext& context) {
  tap_.set_offloads(tap_offloads_for(context.features()));
  context_ = &context;
  // Edge-triggered: process_rx() reads until EAGAIN or until the guest has no buffer; in the
  // second case the driver's RX notification brings us back.
  context.watch(tap_.fd(), EPOLLIN | EPOLLET, [this](uint32_t) { process_rx(); });
  // Frames may have queued up before the watch existed, and they would bring no new edge.
  process_rx();
  spdlog::debug("virtio-net {}: active, features {:#x}, tap offloads {:#x}", tap_.name(),
                context.features(), tap_offloads_for(context.features()));
}

void NetDevice::reset() {
  context_ = nullptr;
  rx_chain_.reset();
  try {
    tap_.set_offloads(0);
  } catch (const Error& e) {
    spdlog::warn("virtio-net: {}", e.what());
  }
  spdlog::debug(
      "virtio-net {}: reset; tx {} frames {} bytes {} dropped, rx {} frames {} bytes "
      "{} dropped",
      tap_.name(), stats_.tx_frames, stats_.tx_bytes, stats_.tx_dropped, stats_.rx_frames,
      stats_.rx_bytes, stats_.rx_dropped);
}

void NetDevice::process_queue(size_t index) {
  if (context_ == nullptr) return;
  if (index == kRxQueue) process_rx();
  if (index == kTxQueue) process_tx();
}

void NetDevice::process_tx() {
  virtio::Queue& queue = context_->queue(kTxQueue);
  bool used = false;
  do {
    while (auto chain = queue.pop()) {
      used = true;
      const TxError error = parse_tx_chain(*chain, context_->features(), tx_frame_);
      queue.add_used(chain->head(), 0);
      if (error != TxError::kNone) {
        const auto level =
            ++stats_.tx_dropped <= kLoudDrops ? spdlog::level::warn : spdlog::level::debug;
        spdlog::log(level, "virtio-net {}: TX chain dropped: {}", tap_.name(), describe(error));
        continue;
      }
      const ssize_t n =
          ::writev(tap_.fd(), tx_frame_.iov.data(), static_cast<int>(tx_frame_.iov.size()));
      if (n < 0) {
        // EIO: the tap is down; EINVAL: the kernel refused the header. Either way the frame is
        // lost, as on a real wire.
        const int err = errno;
        const auto level =
            ++stats_.tx_dropped <= kLoudDrops ? spdlog::level::warn : spdlog::level::debug;
        spdlog::log(level, "virtio-net {}: TX frame dropped: {}", tap_.name(), std::strerror(err));
        continue;
      }
      ++stats_.tx_frames;
      stats_.tx_bytes += tx_frame_.frame_bytes;
    }
  } while (queue.enable_notification());
  if (used) context_->notify_used(queue);
}

std::optional<uint32_t> NetDevice::receive_one() {
  if (rx_buffer_.holds_any_frame()) {
    // Straight into guest memory: the tap writes the header into our copy, the frame into the
    // guest's buffers.
    const ssize_t n =
        ::readv(tap_.fd(), rx_buffer_.iov.data(), static_cast<int>(rx_buffer_.iov.size()));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return std::nullopt;
      throw_errno("virtio-net " + tap_.name() + ": reading the tap");
    }
    if (static_cast<size_t>(n) < kNetHeaderBytes) return 0;
    return finish_rx(rx_buffer_, n - kNetHeaderBytes, context_->features());
  }
  const ssize_t n = ::read(tap_.fd(), bounce_.data(), bounce_.size());
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return std::nullopt;
    throw_errno("virtio-net " + tap_.name() + ": reading the tap");
  }
  // A read that fills the bounce buffer was longer than any frame can be.
  if (static_cast<size_t>(n) < kNetHeaderBytes || static_cast<size_t>(n) == bounce_.size())
    return 0;
  std::memcpy(&rx_buffer_.header, bounce_.data(), kNetHeaderBytes);
  const std::span<const uint8_t> frame(bounce_.data() + kNetHeaderBytes, n - kNetHeaderBytes);
  if (!copy_frame(rx_buffer_, frame)) return 0;
  return finish_rx(rx_buffer_, frame.size(), context_->features());
}

void NetDevice::process_rx() {
  if (context_ == nullptr) return;
  virtio::Queue& queue = context_->queue(kRxQueue);
  bool used = false;
  while (true) {
    if (!rx_chain_) {
      rx_chain_ = queue.pop();
      if (!rx_chain_) {
        // Out of buffers: the driver notifies when it adds some (then we continue), unless
        // some arrived meanwhile.
        if (queue.enable_notification()) continue;
        break;
      }
      if (const RxError error = parse_rx_chain(*rx_chain_, rx_buffer_); error != RxError::kNone) {
        const auto level =
            ++stats_.rx_dropped <= kLoudDrops ? spdlog::level::warn : spdlog::level::debug;
        spdlog::log(level, "virtio-net {}: RX chain refused: {}", tap_.name(), describe(error));
        queue.add_used(rx_chain_->head(), 0);
        rx_chain_.reset();
        used = true;
        continue;
      }
    }
    const std::optional<uint32_t> length = receive_one();
    if (!length) break;  // the tap is empty; keep the chain for the next frame
    if (*length == 0) {
      // The frame did not fit this guest's buffers (or was not one the guest accepted): it is
      // dropped, and the chain waits for the next frame.
      const auto level =
          ++stats_.rx_dropped <= kLoudDrops ? spdlog::level::warn : spdlog::level::debug;
      spdlog::log(level,
                  "virtio-net {}: RX frame dropped: larger than the guest's buffer "
                  "({} bytes) or not an offload the guest accepted",
                  tap_.name(), rx_buffer_.frame_capacity);
      continue;
    }
    ++stats_.rx_frames;
    stats_.rx_bytes += *length - kNetHeaderBytes;
    queue.add_used(rx_chain_->head(), *length);
    rx_chain_.reset();
    used = true;
  }
  if (used) context_->notify_used(queue);
}

}  // namespace kvrun::vmm::net
