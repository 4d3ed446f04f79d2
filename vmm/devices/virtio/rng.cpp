#include "vmm/devices/virtio/rng.h"

#include <sys/random.h>

#include <cerrno>

#include "common/error.h"

namespace kvrun::vmm::virtio {

namespace {

// Fills `out` completely (getrandom returns short counts only for large requests or signals).
void fill_random(std::span<uint8_t> out) {
  while (!out.empty()) {
    const ssize_t n = ::getrandom(out.data(), out.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("getrandom");
    }
    out = out.subspan(static_cast<size_t>(n));
  }
}

}  // namespace

void Rng::read_config(uint64_t /*offset*/, std::span<uint8_t> data) const {
  read_config_bytes({}, 0, data);  // no config space
}

void Rng::process_queue(size_t index) {
  if (context_ == nullptr || index != 0) return;
  Queue& queue = context_->queue(0);
  do {
    while (auto chain = queue.pop()) {
      const ChainWriter out = chain->writer().take(kMaxBytesPerBuffer);
      for (const std::span<uint8_t> part : out.parts()) fill_random(part);
      // At most kMaxBytesPerBuffer.
      queue.add_used(chain->head(), static_cast<uint32_t>(out.available()));
    }
  } while (queue.enable_notification());
  context_->notify_used(queue);
}

}  // namespace kvrun::vmm::virtio
