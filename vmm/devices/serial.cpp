#include "vmm/devices/serial.h"

#include <algorithm>
#include <utility>

namespace kvrun::vmm {

Serial8250::Serial8250(OutputSink output, IrqLevel irq)
    : output_(std::move(output)), irq_(std::move(irq)) {}

void Serial8250::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  // A wide access touches consecutive registers, as the ISA bus would split it.
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = read_register(static_cast<uint8_t>((offset + i) % kSize));
  }
}

void Serial8250::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    write_register(static_cast<uint8_t>((offset + i) % kSize), data[i]);
  }
}

size_t Serial8250::enqueue_input(std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  const size_t n = std::min(bytes.size(), kRxCapacity - rx_.size());
  rx_.insert(rx_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
  if (n > 0) update_irq();
  return n;
}

size_t Serial8250::input_space() const {
  std::lock_guard lock(mutex_);
  return kRxCapacity - rx_.size();
}

uint8_t Serial8250::read_register(uint8_t reg) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (reg) {
    case kData: {
      if (dlab) return static_cast<uint8_t>(divisor_ & 0xff);
      uint8_t byte = 0;
      if (!rx_.empty()) {
        byte = rx_.front();
        rx_.pop_front();
      }
      update_irq();
      return byte;
    }
    case kIer:
      return dlab ? static_cast<uint8_t>(divisor_ >> 8) : ier_;
    case kIir: {
      const uint8_t id = interrupt_id();
      // Reading IIR is how a driver acknowledges a THR-empty interrupt (and only that one).
      if (id == kIirThre) {
        thre_pending_ = false;
        update_irq();
      }
      return static_cast<uint8_t>(id | (fifo_enabled_ ? kIirFifoBits : 0));
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr: {
      uint8_t lsr = kLsrThre | kLsrTemt;
      if (!rx_.empty()) lsr |= kLsrDr;
      if (overrun_) lsr |= kLsrOe;
      overrun_ = false;  // error bits clear on read
      update_irq();
      return lsr;
    }
    case kMsr: {
      const uint8_t msr = modem_status_lines() | msr_deltas_;
      msr_deltas_ = 0;
      update_irq();
      return msr;
    }
    case kScr:
      return scr_;
    default:
      return 0xff;
  }
}

void Serial8250::write_register(uint8_t reg, uint8_t value) {
  const bool dlab = (lcr_ & kLcrDlab) != 0;
  switch (reg) {
    case kData:
      if (dlab) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0xff00) | value);
        return;
      }
      if (mcr_ & kMcrLoop) {
        if (rx_.size() < kRxCapacity) {
          rx_.push_back(value);
        } else {
          overrun_ = true;
        }
      } else if (output_) {
        output_(std::span<const uint8_t>(&value, 1));
      }
      // The byte left the holding register at once, so it is empty again.
      thre_pending_ = true;
      update_irq();
      return;
    case kIer:
      if (dlab) {
        divisor_ = static_cast<uint16_t>((divisor_ & 0x00ff) | (value << 8));
        return;
      }
      // Enabling the THR-empty interrupt while THR is empty (always, here) raises it; Linux's
      // 8250 driver relies on that both to start transmitting and to probe the UART.
      if ((value & kIerThre) && !(ier_ & kIerThre)) thre_pending_ = true;
      ier_ = value & 0x0f;  // bits 4-7 are reserved on a 16550A and read as zero
      update_irq();
      return;
    case kFcr:
      fifo_enabled_ = (value & kFcrEnable) != 0;
      if (value & kFcrClearRx) rx_.clear();
      update_irq();
      return;
    case kLcr:
      lcr_ = value;
      return;
    case kMcr:
      set_mcr(value & 0x1f);
      return;
    case kLsr:
    case kMsr:
      return;  // factory-test writes; ignored
    case kScr:
      scr_ = value;
      return;
    default:
      return;
  }
}

void Serial8250::set_mcr(uint8_t value) {
  const uint8_t before = modem_status_lines();
  mcr_ = value;
  const uint8_t after = modem_status_lines();
  const uint8_t changed = before ^ after;
  if (changed & kMsrCts) msr_deltas_ |= kMsrDcts;
  if (changed & kMsrDsr) msr_deltas_ |= kMsrDdsr;
  if (changed & kMsrDcd) msr_deltas_ |= kMsrDdcd;
  if ((before & kMsrRi) && !(after & kMsrRi)) msr_deltas_ |= kMsrTeri;  // trailing edge only
  update_irq();
}

uint8_t Serial8250::modem_status_lines() const {
  if (mcr_ & kMcrLoop) {
    uint8_t lines = 0;
    if (mcr_ & kMcrRts) lines |= kMsrCts;
    if (mcr_ & kMcrDtr) lines |= kMsrDsr;
    if (mcr_ & kMcrOut1) lines |= kMsrRi;
    if (mcr_ & kMcrOut2) lines |= kMsrDcd;
    return lines;
  }
  // A console that is always connected: carrier, data set ready, clear to send.
  return kMsrDcd | kMsrDsr | kMsrCts;
}

uint8_t Serial8250::interrupt_id() const {
  // In the datasheet's priority order.
  if ((ier_ & kIerRls) && overrun_) return kIirRls;
  if ((ier_ & kIerRda) && !rx_.empty()) return kIirRda;
  if ((ier_ & kIerThre) && thre_pending_) return kIirThre;
  if ((ier_ & kIerMs) && (msr_deltas_ & 0x0f)) return kIirMs;
  return kIirNone;
}

void Serial8250::update_irq() {
  const bool asserted = interrupt_id() != kIirNone;
  if (asserted == irq_asserted_) return;
  irq_asserted_ = asserted;
  if (irq_) irq_(asserted);
}

}  // namespace kvrun::vmm
