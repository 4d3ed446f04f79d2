#include "vmm/devices/virtio/interrupt.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "vmm/devices/virtio/virtio_spec.h"

namespace kvrun::vmm::virtio {

Interrupt::Interrupt() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!fd_) throw_errno("eventfd for a virtio interrupt");
}

void Interrupt::signal_used_buffer() { raise(mmio::kInterruptUsedBuffer); }
void Interrupt::signal_config_change() { raise(mmio::kInterruptConfigChange); }

void Interrupt::raise(uint32_t bit) {
  // The status bit first: the guest's handler reads it when the edge arrives.
  status_.fetch_or(bit, std::memory_order_acq_rel);
  const uint64_t one = 1;
  // EAGAIN only if the counter is about to overflow, i.e. interrupts are pending anyway.
  if (::write(fd_.get(), &one, sizeof(one)) < 0 && errno != EAGAIN) {
    spdlog::error("raising a virtio interrupt: {}", std::strerror(errno));
  }
}

}  // namespace kvrun::vmm::virtio
