// Guest bytes a host socket has not taken yet, for one vsock stream: a ring of fixed capacity.
//
// The capacity is the credit we advertise to the guest (plus the handshake's OK line), so a
// guest that keeps to its credit always fits and one that does not is refused, never buffered.
// Storage is taken on the first push and given back whenever the ring empties: an idle stream
// holds no memory, a busy one never more than its capacity however many bytes pass through.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace kvrun::vmm::vsock {

class ByteRing {
 public:
  explicit ByteRing(size_t capacity) : capacity_(capacity) {}

  size_t capacity() const { return capacity_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t free_space() const { return capacity_ - size_; }
  // Heap bytes held right now: capacity() while anything is buffered, else 0.
  size_t allocated() const { return storage_ ? capacity_ : 0; }

  // Appends all of `data`, or nothing and returns false if it does not fit.
  [[nodiscard]] bool push(std::span<const uint8_t> data);
  // The held bytes, oldest first, as at most two ranges (the second empty unless it wraps).
  std::array<std::span<const uint8_t>, 2> front() const;
  // Drops the oldest `n` bytes (at most size()).
  void consume(size_t n);

 private:
  std::unique_ptr<uint8_t[]> storage_;
  size_t capacity_;
  size_t head_ = 0;  // offset of the oldest byte
  size_t size_ = 0;
};

}  // namespace kvrun::vmm::vsock
