// Flow-control bookkeeping of one vsock stream, both ways, as the virtio spec defines it:
// each side advertises buf_alloc (its receive buffer) and fwd_cnt (bytes it has consumed);
// a sender may have at most buf_alloc - (sent - fwd_cnt) bytes in flight. All counters are
// free-running u32 values that wrap, as on the wire.
#pragma once

#include <cstdint>

namespace kvrun::vmm::vsock {

class Credit {
 public:
  explicit Credit(uint32_t our_buf_alloc) : buf_alloc_(our_buf_alloc) {}

  // --- guest -> host (we are the receiver) ---
  uint32_t buf_alloc() const { return buf_alloc_; }
  uint32_t fwd_cnt() const { return fwd_cnt_; }
  // Bytes received from the guest and not yet written to the host socket.
  uint32_t buffered() const { return rx_cnt_ - fwd_cnt_; }
  // Whether `len` more bytes from the guest stay within what we advertised.
  bool may_receive(uint32_t len) const { return len <= buf_alloc_ - buffered(); }
  void on_received(uint32_t len) { rx_cnt_ += len; }
  void on_forwarded(uint32_t len) { fwd_cnt_ += len; }
  // Every header we send carries fwd_cnt; this records what the guest now knows.
  void on_advertised() { advertised_fwd_cnt_ = fwd_cnt_; }
  // The guest has little room left by its own reckoning while we have freed more: it may be
  // waiting for an update (Linux never asks, it just stops sending).
  bool guest_likely_starved() const {
    const uint32_t guest_view_free = buf_alloc_ - (rx_cnt_ - advertised_fwd_cnt_);
    return fwd_cnt_ != advertised_fwd_cnt_ && guest_view_free < buf_alloc_ / 2;
  }

  // --- host -> guest (the guest is the receiver) ---
  // From every guest header. The values are untrusted; a lie can only stall this stream.
  void on_peer_header(uint32_t peer_buf_alloc, uint32_t peer_fwd_cnt) {
    peer_buf_alloc_ = peer_buf_alloc;
    peer_fwd_cnt_ = peer_fwd_cnt;
  }
  // Bytes we may still send: never more than the guest's advertised free space.
  uint32_t peer_free() const {
    const uint32_t in_flight = tx_cnt_ - peer_fwd_cnt_;
    return in_flight >= peer_buf_alloc_ ? 0 : peer_buf_alloc_ - in_flight;
  }
  void on_sent(uint32_t len) { tx_cnt_ += len; }

 private:
  uint32_t buf_alloc_;
  uint32_t rx_cnt_ = 0;
  uint32_t fwd_cnt_ = 0;
  uint32_t advertised_fwd_cnt_ = 0;
  uint32_t peer_buf_alloc_ = 0;
  uint32_t peer_fwd_cnt_ = 0;
  uint32_t tx_cnt_ = 0;
};

}  // namespace kvrun::vmm::vsock
