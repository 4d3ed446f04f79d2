// Exit handling on a fake kvm_run area: routing to the buses, the exits that end the VM, and
// the checks on what KVM hands over.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "vmm/devices/io_bus.h"
#include "vmm/vcpu_loop.h"

namespace kvrun::vmm {
namespace {

class Recorder : public BusDevice {
 public:
  void read(uint64_t offset, std::span<uint8_t> data) override {
    for (auto& b : data) b = static_cast<uint8_t>(0x40 + offset);
    ++reads;
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    writes.push_back({offset, std::vector<uint8_t>(data.begin(), data.end())});
  }
  int reads = 0;
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> writes;
};

class HandleExit : public ::testing::Test {
 protected:
  static constexpr size_t kRunSize = 4096;
  HandleExit() : area_(kRunSize / 8), pio_("pio"), mmio_("mmio") {
    pio_.insert(port_, 0x3f8, 8, "port");
    mmio_.insert(mmio_dev_, 0xd0000000, 0x1000, "mmio");
  }
  kvm_run& run() { return *reinterpret_cast<kvm_run*>(area_.data()); }
  uint8_t* bytes() { return reinterpret_cast<uint8_t*>(area_.data()); }
  std::optional<StopOutcome> handle() {
    return handle_exit(run(), kRunSize, Buses{pio_, mmio_}, 2, [] { return 0x1234ull; });
  }
  void io(uint8_t direction, uint16_t port, uint8_t size, uint32_t count, uint64_t offset) {
    run().exit_reason = KVM_EXIT_IO;
    run().io.direction = direction;
    run().io.port = port;
    run().io.size = size;
    run().io.count = count;
    run().io.data_offset = offset;
  }
  std::string error_of(const std::optional<StopOutcome>& o) {
    if (!o || o->cause != StopCause::kError) return "<not an error>";
    return o->detail;
  }

  std::vector<uint64_t> area_;
  std::shared_ptr<Recorder> port_ = std::make_shared<Recorder>();
  std::shared_ptr<Recorder> mmio_dev_ = std::make_shared<Recorder>();
  IoBus pio_;
  IoBus mmio_;
};

TEST_F(HandleExit, PortWriteReachesTheDevice) {
  io(KVM_EXIT_IO_OUT, 0x3f8, 1, 1, 0x1000 - 0x100);
  bytes()[0x1000 - 0x100] = 'A';
  EXPECT_FALSE(handle());
  ASSERT_EQ(port_->writes.size(), 1u);
  EXPECT_EQ(port_->writes[0].first, 0u);
  EXPECT_EQ(port_->writes[0].second, std::vector<uint8_t>{'A'});
}

TEST_F(HandleExit, PortReadFillsTheRunArea) {
  io(KVM_EXIT_IO_IN, 0x3fd, 1, 1, 2048);
  EXPECT_FALSE(handle());
  EXPECT_EQ(bytes()[2048], 0x45);
}

TEST_F(HandleExit, RepOutsDeliversEveryElement) {
  io(KVM_EXIT_IO_OUT, 0x3f8, 1, 3, 2048);
  std::memcpy(bytes() + 2048, "xyz", 3);
  EXPECT_FALSE(handle());
  ASSERT_EQ(port_->writes.size(), 3u);
  EXPECT_EQ(port_->writes[2].second, std::vector<uint8_t>{'z'});
}

TEST_F(HandleExit, UnknownPortReadsAllOnes) {
  io(KVM_EXIT_IO_IN, 0x80, 2, 1, 2048);
  EXPECT_FALSE(handle());
  EXPECT_EQ(bytes()[2048], 0xff);
  EXPECT_EQ(bytes()[2049], 0xff);
}

TEST_F(HandleExit, PortDataOutsideTheRunAreaIsAnError) {
  io(KVM_EXIT_IO_OUT, 0x3f8, 4, 2, kRunSize - 4);
  EXPECT_NE(error_of(handle()).find("outside"), std::string::npos);
  io(KVM_EXIT_IO_OUT, 0x3f8, 1, 1, ~0ull);
  EXPECT_NE(error_of(handle()).find("outside"), std::string::npos);
  io(KVM_EXIT_IO_OUT, 0x3f8, 4, 0xffffffffu, 64);
  EXPECT_NE(error_of(handle()).find("outside"), std::string::npos);
  EXPECT_TRUE(port_->writes.empty());
}

TEST_F(HandleExit, BadPortAccessSizeIsAnError) {
  io(KVM_EXIT_IO_OUT, 0x3f8, 3, 1, 2048);
  EXPECT_NE(error_of(handle()).find("size 3"), std::string::npos);
}

TEST_F(HandleExit, MmioReadAndWrite) {
  run().exit_reason = KVM_EXIT_MMIO;
  run().mmio.phys_addr = 0xd0000010;
  run().mmio.len = 4;
  run().mmio.is_write = 1;
  std::memcpy(run().mmio.data, "\x01\x02\x03\x04", 4);
  EXPECT_FALSE(handle());
  ASSERT_EQ(mmio_dev_->writes.size(), 1u);
  EXPECT_EQ(mmio_dev_->writes[0].first, 0x10u);
  EXPECT_EQ(mmio_dev_->writes[0].second, (std::vector<uint8_t>{1, 2, 3, 4}));

  run().mmio.is_write = 0;
  run().mmio.phys_addr = 0xe0000000;  // nothing there
  EXPECT_FALSE(handle());
  EXPECT_EQ(run().mmio.data[0], 0xff);
  EXPECT_EQ(run().mmio.data[3], 0xff);
}

TEST_F(HandleExit, MmioLengthBeyondTheDataFieldIsAnError) {
  run().exit_reason = KVM_EXIT_MMIO;
  run().mmio.phys_addr = 0xd0000000;
  run().mmio.len = 9;
  EXPECT_NE(error_of(handle()).find("length 9"), std::string::npos);
}

TEST_F(HandleExit, ShutdownAndResetAreAReboot) {
  run().exit_reason = KVM_EXIT_SHUTDOWN;
  ASSERT_TRUE(handle());
  EXPECT_EQ(handle()->cause, StopCause::kReboot);
  run().exit_reason = KVM_EXIT_SYSTEM_EVENT;
  run().system_event.type = KVM_SYSTEM_EVENT_RESET;
  EXPECT_EQ(handle()->cause, StopCause::kReboot);
  run().system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
  EXPECT_EQ(handle()->cause, StopCause::kReboot);
  run().system_event.type = KVM_SYSTEM_EVENT_CRASH;
  EXPECT_EQ(handle()->cause, StopCause::kPanic);
}

TEST_F(HandleExit, InterruptedRunContinues) {
  run().exit_reason = KVM_EXIT_INTR;
  EXPECT_FALSE(handle());
}

TEST_F(HandleExit, EmulationFailureNamesTheVcpuRipAndInstruction) {
  run().exit_reason = KVM_EXIT_INTERNAL_ERROR;
  run().emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
  run().emulation_failure.ndata = 3;
  run().emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
  run().emulation_failure.insn_size = 3;
  std::memcpy(run().emulation_failure.insn_bytes, "\x0f\x01\xd9", 3);
  const std::string e = error_of(handle());
  EXPECT_NE(e.find("vCPU 2"), std::string::npos) << e;
  EXPECT_NE(e.find("emulation"), std::string::npos) << e;
  EXPECT_NE(e.find("rip 0x1234"), std::string::npos) << e;
  EXPECT_NE(e.find("0f 01 d9"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << "one line";
}

TEST_F(HandleExit, OversizedInstructionLengthIsClamped) {
  run().exit_reason = KVM_EXIT_INTERNAL_ERROR;
  run().emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
  run().emulation_failure.ndata = 3;
  run().emulation_failure.flags = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
  run().emulation_failure.insn_size = 200;
  const std::string e = error_of(handle());
  EXPECT_LT(e.size(), 200u + 16 * 3) << e;
}

TEST_F(HandleExit, FailedEntryAndUnknownExitsAreErrors) {
  run().exit_reason = KVM_EXIT_FAIL_ENTRY;
  run().fail_entry.hardware_entry_failure_reason = 0x80000021;
  EXPECT_NE(error_of(handle()).find("0x80000021"), std::string::npos);
  run().exit_reason = 4242;
  EXPECT_NE(error_of(handle()).find("4242"), std::string::npos);
}

}  // namespace
}  // namespace kvrun::vmm
