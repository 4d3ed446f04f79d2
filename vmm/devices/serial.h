// A 16550A UART (the PC's COM1) as a register state machine. Bytes the guest transmits go to
// an output sink at once, so the transmitter is always empty; bytes from the host wait in a
// receive queue. The interrupt output is a level that the owner forwards to the irqchip.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <span>

#include "vmm/devices/io_bus.h"

namespace kvrun::vmm {

class Serial8250 : public BusDevice {
 public:
  static constexpr uint64_t kCom1Base = 0x3f8;
  static constexpr uint64_t kSize = 8;
  static constexpr uint32_t kCom1Irq = 4;
  // Host input buffered for the guest. Larger than the 16-byte hardware FIFO so a paste does
  // not have to trickle in, small enough that a stalled guest cannot make us hoard memory.
  static constexpr size_t kRxCapacity = 4096;

  // Register offsets and the bits the model gives meaning to (names as in the 16550 datasheet).
  enum Register : uint8_t {
    kData = 0,
    kIer = 1,
    kIir = 2,
    kLcr = 3,
    kMcr = 4,
    kLsr = 5,
    kMsr = 6,
    kScr = 7
  };
  static constexpr uint8_t kFcr = kIir;  // write side of offset 2
  static constexpr uint8_t kIerRda = 0x01, kIerThre = 0x02, kIerRls = 0x04, kIerMs = 0x08;
  static constexpr uint8_t kIirNone = 0x01, kIirMs = 0x00, kIirThre = 0x02, kIirRda = 0x04,
                           kIirRls = 0x06, kIirFifoBits = 0xc0;
  static constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02;
  static constexpr uint8_t kLcrDlab = 0x80;
  static constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08,
                           kMcrLoop = 0x10;
  static constexpr uint8_t kLsrDr = 0x01, kLsrOe = 0x02, kLsrThre = 0x20, kLsrTemt = 0x40;
  static constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08,
                           kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;

  using OutputSink = std::function<void(std::span<const uint8_t>)>;
  using IrqLevel = std::function<void(bool asserted)>;

  // `output` receives every transmitted byte; `irq` is called whenever the interrupt output
  // changes level. Both are called with the device lock held, in register-access order.
  Serial8250(OutputSink output, IrqLevel irq);

  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Queues host bytes for the guest; returns how many fit (the rest must be offered again).
  size_t enqueue_input(std::span<const uint8_t> bytes);
  size_t input_space() const;

 private:
  uint8_t read_register(uint8_t reg);
  void write_register(uint8_t reg, uint8_t value);
  void set_mcr(uint8_t value);
  uint8_t modem_status_lines() const;
  uint8_t interrupt_id() const;
  void update_irq();

  mutable std::mutex mutex_;
  OutputSink output_;
  IrqLevel irq_;

  std::deque<uint8_t> rx_;
  uint16_t divisor_ = 12;  // 9600 baud, the power-on value firmware would leave
  uint8_t ier_ = 0;
  uint8_t lcr_ = 0x03;  // 8N1
  uint8_t mcr_ = kMcrOut2;
  uint8_t msr_deltas_ = 0;
  uint8_t scr_ = 0;
  bool fifo_enabled_ = false;
  bool overrun_ = false;
  bool thre_pending_ = false;  // THR-empty interrupt latched, cleared by reading IIR or THR write
  bool irq_asserted_ = false;
};

}  // namespace kvrun::vmm
