// The 16550A model as Linux's 8250 driver drives it: probing, transmit, receive, interrupts.
#include "vmm/devices/serial.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kvrun::vmm {
namespace {

using S = Serial8250;

class SerialTest : public ::testing::Test {
 protected:
  SerialTest()
      : uart_(
            [this](std::span<const uint8_t> bytes) { output_.append(bytes.begin(), bytes.end()); },
            [this](bool level) { irq_levels_.push_back(level); }) {}

  uint8_t in(uint8_t reg) {
    uint8_t v = 0;
    uart_.read(reg, {&v, 1});
    return v;
  }
  void out(uint8_t reg, uint8_t value) { uart_.write(reg, {&value, 1}); }
  size_t input(const std::string& s) {
    return uart_.enqueue_input({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  bool irq() const { return !irq_levels_.empty() && irq_levels_.back(); }

  std::string output_;
  std::vector<bool> irq_levels_;
  Serial8250 uart_;
};

TEST_F(SerialTest, PowerOnState) {
  EXPECT_EQ(in(S::kLsr), S::kLsrThre | S::kLsrTemt);
  EXPECT_EQ(in(S::kIir), S::kIirNone);
  EXPECT_EQ(in(S::kIer), 0);
  EXPECT_EQ(in(S::kMsr), S::kMsrDcd | S::kMsrDsr | S::kMsrCts);
  EXPECT_FALSE(irq());
}

TEST_F(SerialTest, TransmittedBytesReachTheSinkInOrder) {
  for (char c : std::string("hi\n")) out(S::kData, static_cast<uint8_t>(c));
  EXPECT_EQ(output_, "hi\n");
  EXPECT_EQ(in(S::kLsr) & (S::kLsrThre | S::kLsrTemt), S::kLsrThre | S::kLsrTemt);
}

TEST_F(SerialTest, DivisorLatchRoundTripsAndHidesDataAndIer) {
  out(S::kIer, S::kIerRda);
  out(S::kLcr, S::kLcrDlab | 0x03);
  out(S::kData, 0x01);  // DLL: 115200 baud
  out(S::kIer, 0x02);   // DLM
  EXPECT_EQ(in(S::kData), 0x01);
  EXPECT_EQ(in(S::kIer), 0x02);
  EXPECT_EQ(output_, "") << "divisor writes must not transmit";
  out(S::kLcr, 0x03);
  EXPECT_EQ(in(S::kIer), S::kIerRda) << "IER unchanged by DLM writes";
  EXPECT_EQ(in(S::kLcr), 0x03);
  out(S::kLcr, S::kLcrDlab | 0x03);
  EXPECT_EQ(in(S::kData), 0x01);
  EXPECT_EQ(in(S::kIer), 0x02);
}

TEST_F(SerialTest, ReceivedBytesSetDataReadyUntilDrained) {
  EXPECT_EQ(input("ab"), 2u);
  EXPECT_TRUE(in(S::kLsr)&S::kLsrDr);
  EXPECT_EQ(in(S::kData), 'a');
  EXPECT_TRUE(in(S::kLsr)&S::kLsrDr);
  EXPECT_EQ(in(S::kData), 'b');
  EXPECT_FALSE(in(S::kLsr)&S::kLsrDr);
  EXPECT_EQ(in(S::kData), 0) << "empty receiver reads as zero";
}

TEST_F(SerialTest, ReceiveInterruptOnlyWhenEnabled) {
  input("x");
  EXPECT_FALSE(irq());
  EXPECT_EQ(in(S::kIir), S::kIirNone);
  out(S::kIer, S::kIerRda);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(S::kIir), S::kIirRda);
  EXPECT_EQ(in(S::kData), 'x');
  EXPECT_FALSE(irq());
  EXPECT_EQ(in(S::kIir), S::kIirNone);
  input("y");
  EXPECT_TRUE(irq()) << "new input raises the line again";
}

TEST_F(SerialTest, ThrEmptyInterruptIsRaisedByEnablingAndAcknowledgedByReadingIir) {
  out(S::kIer, S::kIerThre);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(S::kIir), S::kIirThre);
  EXPECT_FALSE(irq());
  EXPECT_EQ(in(S::kIir), S::kIirNone) << "acknowledged";
  out(S::kData, 'z');
  EXPECT_TRUE(irq()) << "THR empty again after the byte left";
  EXPECT_EQ(in(S::kIir), S::kIirThre);
  EXPECT_EQ(output_, "z");
}

TEST_F(SerialTest, LinuxThreProbeSeesTheInterruptTwice) {
  // serial8250_do_startup: IER=THRI, read IIR, IER=0, IER=THRI, read IIR; both must report it,
  // or Linux marks the port UART_BUG_THRE and falls back to a polling timer.
  out(S::kIer, S::kIerThre);
  EXPECT_EQ(in(S::kIir)&0x0f, S::kIirThre);
  out(S::kIer, 0);
  out(S::kIer, S::kIerThre);
  EXPECT_EQ(in(S::kIir)&0x0f, S::kIirThre);
}

TEST_F(SerialTest, InterruptPriorityReceiveBeforeTransmit) {
  out(S::kIer, S::kIerRda | S::kIerThre);
  input("q");
  EXPECT_EQ(in(S::kIir), S::kIirRda);
  EXPECT_EQ(in(S::kIir), S::kIirRda) << "reading IIR does not clear a receive interrupt";
  EXPECT_EQ(in(S::kData), 'q');
  EXPECT_EQ(in(S::kIir), S::kIirThre);
  EXPECT_EQ(in(S::kIir), S::kIirNone);
}

TEST_F(SerialTest, LoopbackRoutesTransmitToReceiveAndModemLines) {
  // Linux's autoconfig loopback check: MCR = LOOP | OUT2 | RTS gives MSR upper nibble 0x90.
  out(S::kMcr, S::kMcrLoop | S::kMcrOut2 | S::kMcrRts);
  EXPECT_EQ(in(S::kMsr)&0xf0, S::kMsrDcd | S::kMsrCts);
  out(S::kData, 'L');
  EXPECT_EQ(output_, "") << "loopback must not reach the host";
  EXPECT_TRUE(in(S::kLsr)&S::kLsrDr);
  EXPECT_EQ(in(S::kData), 'L');
  out(S::kMcr, S::kMcrLoop | S::kMcrDtr | S::kMcrOut1);
  EXPECT_EQ(in(S::kMsr)&0xf0, S::kMsrDsr | S::kMsrRi);
  out(S::kMcr, S::kMcrOut2);
  out(S::kData, 'o');
  EXPECT_EQ(output_, "o");
}

TEST_F(SerialTest, ModemStatusDeltasRaiseAnInterruptAndClearOnRead) {
  out(S::kMcr, S::kMcrLoop);
  in(S::kMsr);  // clear the deltas from entering loopback
  out(S::kIer, S::kIerMs);
  EXPECT_FALSE(irq());
  out(S::kMcr, S::kMcrLoop | S::kMcrRts);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(S::kIir), S::kIirMs);
  const uint8_t msr = in(S::kMsr);
  EXPECT_EQ(msr & 0x0f, S::kMsrDcts);
  EXPECT_TRUE(msr & S::kMsrCts);
  EXPECT_FALSE(irq());
  EXPECT_EQ(in(S::kMsr)&0x0f, 0);
  // RI reports only its trailing edge.
  out(S::kMcr, S::kMcrLoop | S::kMcrRts | S::kMcrOut1);
  EXPECT_EQ(in(S::kMsr)&S::kMsrTeri, 0);
  out(S::kMcr, S::kMcrLoop | S::kMcrRts);
  EXPECT_EQ(in(S::kMsr)&S::kMsrTeri, S::kMsrTeri);
}

TEST_F(SerialTest, OverrunInLoopbackIsALineStatusInterrupt) {
  out(S::kMcr, S::kMcrLoop);
  out(S::kIer, S::kIerRls | S::kIerRda);
  for (size_t i = 0; i <= S::kRxCapacity; ++i) out(S::kData, 'x');
  EXPECT_EQ(in(S::kIir), S::kIirRls);
  const uint8_t lsr = in(S::kLsr);
  EXPECT_TRUE(lsr & S::kLsrOe);
  EXPECT_TRUE(lsr & S::kLsrDr);
  EXPECT_FALSE(in(S::kLsr)&S::kLsrOe) << "OE clears on read";
  EXPECT_EQ(in(S::kIir), S::kIirRda);
}

TEST_F(SerialTest, FifoControlReportsFifosAndClearsReceive) {
  EXPECT_EQ(in(S::kIir)&S::kIirFifoBits, 0);
  out(S::kFcr, S::kFcrEnable);
  EXPECT_EQ(in(S::kIir)&S::kIirFifoBits, S::kIirFifoBits) << "16550A: both FIFO bits";
  input("abc");
  out(S::kFcr, S::kFcrEnable | S::kFcrClearRx);
  EXPECT_FALSE(in(S::kLsr)&S::kLsrDr);
}

TEST_F(SerialTest, ScratchAndIerProbe) {
  out(S::kScr, 0x5a);
  EXPECT_EQ(in(S::kScr), 0x5a);
  // autoconfig: IER=0 reads 0, IER=0x0f reads 0x0f; reserved bits read zero.
  out(S::kIer, 0);
  EXPECT_EQ(in(S::kIer)&0x0f, 0);
  out(S::kIer, 0xff);
  EXPECT_EQ(in(S::kIer), 0x0f);
}

TEST_F(SerialTest, InputIsBoundedAndReportsSpace) {
  EXPECT_EQ(uart_.input_space(), S::kRxCapacity);
  const std::string big(S::kRxCapacity + 10, 'k');
  EXPECT_EQ(input(big), S::kRxCapacity);
  EXPECT_EQ(uart_.input_space(), 0u);
  EXPECT_EQ(input("more"), 0u);
  in(S::kData);
  EXPECT_EQ(uart_.input_space(), 1u);
}

TEST_F(SerialTest, IrqCallbackFiresOnlyOnLevelChanges) {
  out(S::kIer, S::kIerRda);
  input("a");
  input("b");
  in(S::kData);
  in(S::kData);
  EXPECT_EQ(irq_levels_, (std::vector<bool>{true, false}));
}

TEST_F(SerialTest, WideAccessTouchesConsecutiveRegisters) {
  const uint8_t bytes[2] = {'w', S::kIerRda};  // THR then IER
  uart_.write(S::kData, bytes);
  EXPECT_EQ(output_, "w");
  EXPECT_EQ(in(S::kIer), S::kIerRda);
}

}  // namespace
}  // namespace kvrun::vmm
