#include "vmm/devices/virtio/vsock/byte_ring.h"

#include <algorithm>
#include <cstring>

namespace kvrun::vmm::vsock {

bool ByteRing::push(std::span<const uint8_t> data) {
  if (data.size() > free_space()) return false;
  if (data.empty()) return true;
  if (!storage_) {
    storage_ = std::make_unique_for_overwrite<uint8_t[]>(capacity_);
    head_ = 0;
  }
  const size_t tail = (head_ + size_) % capacity_;
  const size_t first = std::min(data.size(), capacity_ - tail);
  std::memcpy(storage_.get() + tail, data.data(), first);
  std::memcpy(storage_.get(), data.data() + first, data.size() - first);
  size_ += data.size();
  return true;
}

std::array<std::span<const uint8_t>, 2> ByteRing::front() const {
  if (size_ == 0) return {};
  const size_t first = std::min(size_, capacity_ - head_);
  return {std::span<const uint8_t>(storage_.get() + head_, first),
          std::span<const uint8_t>(storage_.get(), size_ - first)};
}

void ByteRing::consume(size_t n) {
  n = std::min(n, size_);
  size_ -= n;
  head_ = size_ == 0 ? 0 : (head_ + n) % capacity_;
  if (size_ == 0) storage_.reset();
}

}  // namespace kvrun::vmm::vsock
