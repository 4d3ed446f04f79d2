// libFuzzer target: the virtio-net request parser behind a real split virtqueue. The input is
// what a hostile guest controls (guest_ring.h's format): the ring, the descriptors and the
// bytes they point at; bits 2-5 of byte 1 pick the negotiated virtio-net features. Every chain
// the queue hands out is parsed both as a TX request and as an RX buffer, and a frame made of
// the input itself is delivered into the latter.
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz/guest_ring.h"
#include "vmm/devices/virtio/net/net_defs.h"
#include "vmm/devices/virtio/net/offloads.h"
#include "vmm/devices/virtio/net/rx_buffer.h"
#include "vmm/devices/virtio/net/tx_frame.h"

namespace {

using namespace kvrun::vmm;

uint64_t net_features(uint8_t choice) {
  uint64_t features = 0;
  if (choice & 4) features |= net::offered_features(~0u);
  if (choice & 8) features &= ~net::feature_bit(net::feature::kCsum);
  if (choice & 16) features &= ~net::feature_bit(net::feature::kGuestCsum);
  if (choice & 32) features &= ~net::feature_bit(net::feature::kHostTso4);
  return features;
}

// Touches every byte range the parser handed out, as writev/readv would.
void touch(const std::vector<iovec>& iov) {
  volatile uint8_t sink = 0;
  for (const iovec& v : iov) {
    const auto* p = static_cast<const uint8_t*>(v.iov_base);
    if (v.iov_len == 0) continue;
    for (size_t k = 0; k < v.iov_len; k += 4096) sink = sink ^ p[k];
    sink = sink ^ p[v.iov_len - 1];
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto queue = virtio::fuzz::ring_from_input(data, size);
  if (!queue) return 0;
  const uint64_t features = net_features(data[1]);
  const std::vector<uint8_t> frame(data, data + std::min(size, net::kMaxFrameBytes + 1));

  net::TxFrame tx;
  net::RxBuffer rx;
  for (uint32_t i = 0; i < 2u * queue->size(); ++i) {
    auto chain = queue->pop();
    if (!chain) break;
    if (net::parse_tx_chain(*chain, features, tx) == net::TxError::kNone) touch(tx.iov);
    if (net::parse_rx_chain(*chain, rx) == net::RxError::kNone) {
      touch(rx.iov);
      std::memcpy(&rx.header, frame.data(), std::min(frame.size(), net::kNetHeaderBytes));
      if (net::copy_frame(rx, frame)) net::finish_rx(rx, frame.size(), features);
    }
    queue->add_used(chain->head(), 0);
  }
  return 0;
}
