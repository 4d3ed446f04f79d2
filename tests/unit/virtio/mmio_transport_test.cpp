// The virtio-mmio register file and status state machine, driven the way Linux's virtio_mmio
// driver does it, with the real virtio-rng behind it and a real event loop (no KVM: QueueNotify
// writes take the transport's own eventfd path).
#include "vmm/devices/virtio/mmio_transport.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <sstream>

#include "tests/support/virtio/test_driver.h"
#include "vmm/devices/virtio/event_loop.h"
#include "vmm/devices/virtio/rng.h"

namespace kvrun::vmm::virtio {
namespace {

using test::TestDriver;

class MmioTransportTest : public ::testing::Test {
 protected:
  uint32_t reg(uint64_t offset) {
    uint8_t data[4];
    transport_.read(offset, data);
    uint32_t value;
    std::memcpy(&value, data, 4);
    return value;
  }
  void set(uint64_t offset, uint32_t value) {
    uint8_t data[4];
    std::memcpy(data, &value, 4);
    transport_.write(offset, data);
  }
  // §3.1.1 up to FEATURES_OK, accepting `features`.
  void negotiate(uint64_t features) {
    set(mmio::kStatus, 0);
    set(mmio::kStatus, kStatusAcknowledge);
    set(mmio::kStatus, kStatusAcknowledge | kStatusDriver);
    set(mmio::kDriverFeaturesSel, 0);
    set(mmio::kDriverFeatures, static_cast<uint32_t>(features));
    set(mmio::kDriverFeaturesSel, 1);
    set(mmio::kDriverFeatures, static_cast<uint32_t>(features >> 32));
    set(mmio::kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  }
  void setup_queue(uint16_t size = 16) {
    set(mmio::kQueueSel, 0);
    set(mmio::kQueueNum, size);
    set(mmio::kQueueDescLow, TestDriver::kDesc);
    set(mmio::kQueueDescHigh, 0);
    set(mmio::kQueueDriverLow, TestDriver::kAvail);
    set(mmio::kQueueDeviceLow, TestDriver::kUsed);
    set(mmio::kQueueReady, 1);
  }
  void driver_ok() {
    set(mmio::kStatus, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  }
  uint64_t interrupts() {
    uint64_t count = 0;
    return ::read(transport_.interrupt_fd(), &count, sizeof(count)) == sizeof(count) ? count : 0;
  }

  GuestMemory memory_ = GuestMemory::create(test::kTestMemoryBytes);
  EventLoop loop_;
  MmioTransport transport_{std::make_shared<Rng>(), memory_, loop_, "virtio-rng test"};
  TestDriver driver_{memory_, 16};
};

TEST_F(MmioTransportTest, IdentifiesAsModernVirtioMmio) {
  EXPECT_EQ(reg(mmio::kMagicValue), 0x74726976u);
  EXPECT_EQ(reg(mmio::kVersionReg), 2u);
  EXPECT_EQ(reg(mmio::kDeviceId), 4u);
  EXPECT_EQ(reg(mmio::kVendorIdReg), mmio::kVendorId);
  EXPECT_EQ(reg(mmio::kShmLenLow), 0xffffffffu);
}

TEST_F(MmioTransportTest, OffersVersion1AndRingFeatures) {
  set(mmio::kDeviceFeaturesSel, 0);
  const uint32_t low = reg(mmio::kDeviceFeatures);
  set(mmio::kDeviceFeaturesSel, 1);
  const uint32_t high = reg(mmio::kDeviceFeatures);
  EXPECT_TRUE(high & 1u);  // bit 32: VERSION_1
  EXPECT_TRUE(low & (1u << kFeatureRingIndirectDesc));
  EXPECT_TRUE(low & (1u << kFeatureRingEventIdx));
  set(mmio::kDeviceFeaturesSel, 7);
  EXPECT_EQ(reg(mmio::kDeviceFeatures), 0u);
}

TEST_F(MmioTransportTest, RefusesFeaturesWithoutVersion1OrNotOffered) {
  negotiate(0);
  EXPECT_FALSE(reg(mmio::kStatus) & kStatusFeaturesOk);
  negotiate(feature_bit(kFeatureVersion1) | feature_bit(3));
  EXPECT_FALSE(reg(mmio::kStatus) & kStatusFeaturesOk);
  negotiate(feature_bit(kFeatureVersion1));
  EXPECT_TRUE(reg(mmio::kStatus) & kStatusFeaturesOk);
  // Fixed from now on: a later features write changes nothing.
  set(mmio::kDriverFeaturesSel, 1);
  set(mmio::kDriverFeatures, 0);
  setup_queue();
  driver_ok();
  EXPECT_EQ(reg(mmio::kStatus) & kStatusDeviceNeedsReset, 0u);
}

TEST_F(MmioTransportTest, DriverOkWithoutFeaturesOkIsIgnored) {
  set(mmio::kStatus, kStatusAcknowledge | kStatusDriver);
  set(mmio::kStatus, kStatusAcknowledge | kStatusDriver | kStatusDriverOk);
  EXPECT_EQ(reg(mmio::kStatus), kStatusAcknowledge | kStatusDriver);
}

TEST_F(MmioTransportTest, StatusBitsAreNeverClearedExceptByReset) {
  negotiate(feature_bit(kFeatureVersion1));
  set(mmio::kStatus, kStatusAcknowledge);
  EXPECT_TRUE(reg(mmio::kStatus) & kStatusFeaturesOk);
  set(mmio::kStatus, 0);
  EXPECT_EQ(reg(mmio::kStatus), 0u);
}

TEST_F(MmioTransportTest, QueueRegistersReadBackAndMissingQueuesReportZero) {
  negotiate(feature_bit(kFeatureVersion1));
  setup_queue(8);
  EXPECT_EQ(reg(mmio::kQueueNumMax), Rng::kQueueSize);
  EXPECT_EQ(reg(mmio::kQueueReady), 1u);
  EXPECT_EQ(reg(mmio::kQueueDescLow), TestDriver::kDesc);
  EXPECT_EQ(reg(mmio::kQueueDriverLow), TestDriver::kAvail);
  EXPECT_EQ(reg(mmio::kQueueDeviceLow), TestDriver::kUsed);
  // An enabled queue's setup is frozen.
  set(mmio::kQueueDescLow, 0x5000);
  EXPECT_EQ(reg(mmio::kQueueDescLow), TestDriver::kDesc);
  set(mmio::kQueueSel, 1);
  EXPECT_EQ(reg(mmio::kQueueNumMax), 0u);
  set(mmio::kQueueReady, 1);
  EXPECT_EQ(reg(mmio::kQueueReady), 0u);
}

TEST_F(MmioTransportTest, QueueWithBadLayoutIsNotEnabled) {
  negotiate(feature_bit(kFeatureVersion1));
  set(mmio::kQueueSel, 0);
  set(mmio::kQueueNum, 16);
  set(mmio::kQueueDescLow, 0);
  set(mmio::kQueueDescHigh, 0x10);  // 64 GiB: beyond guest RAM
  set(mmio::kQueueReady, 1);
  EXPECT_EQ(reg(mmio::kQueueReady), 0u);
  set(mmio::kQueueDescHigh, 0);
  set(mmio::kQueueNum, 24);  // not a power of two
  set(mmio::kQueueReady, 1);
  EXPECT_EQ(reg(mmio::kQueueReady), 0u);
}

TEST_F(MmioTransportTest, NotifyServesTheQueueAndRaisesTheInterrupt) {
  negotiate(feature_bit(kFeatureVersion1));
  setup_queue();
  driver_ok();
  const uint64_t buffer = driver_.alloc(64);
  driver_.add_chain({{buffer, 64, true}});
  set(mmio::kQueueNotify, 0);
  EXPECT_EQ(loop_.run_once(1000), 1);
  EXPECT_EQ(driver_.used_idx(), 1);
  EXPECT_EQ(driver_.used(0).len, 64u);
  EXPECT_EQ(interrupts(), 1u);
  EXPECT_EQ(reg(mmio::kInterruptStatus), mmio::kInterruptUsedBuffer);
  set(mmio::kInterruptAck, mmio::kInterruptUsedBuffer);
  EXPECT_EQ(reg(mmio::kInterruptStatus), 0u);
}

TEST_F(MmioTransportTest, NothingIsServedBeforeDriverOk) {
  negotiate(feature_bit(kFeatureVersion1));
  setup_queue();
  driver_.add_chain({{driver_.alloc(8), 8, true}});
  set(mmio::kQueueNotify, 0);
  loop_.run_once(1000);
  EXPECT_EQ(driver_.used_idx(), 0);
  EXPECT_EQ(interrupts(), 0u);
}

TEST_F(MmioTransportTest, BrokenRingSetsNeedsResetAndResetRecovers) {
  negotiate(feature_bit(kFeatureVersion1));
  setup_queue();
  driver_ok();
  driver_.set_avail_idx(100);  // far more than the 16 entries the queue has
  set(mmio::kQueueNotify, 0);
  loop_.run_once(1000);
  EXPECT_TRUE(reg(mmio::kStatus) & kStatusDeviceNeedsReset);
  EXPECT_TRUE(reg(mmio::kInterruptStatus) & mmio::kInterruptConfigChange);
  EXPECT_EQ(reg(mmio::kConfigGeneration), 1u);
  set(mmio::kStatus, 0);
  EXPECT_EQ(reg(mmio::kStatus), 0u);
  EXPECT_EQ(reg(mmio::kInterruptStatus), 0u);
  EXPECT_EQ(reg(mmio::kQueueReady), 0u);
  // Set up again from scratch, the device works.
  driver_.set_avail_idx(0);
  negotiate(feature_bit(kFeatureVersion1));
  setup_queue();
  driver_ok();
  driver_.add_chain({{driver_.alloc(8), 8, true}});
  set(mmio::kQueueNotify, 0);
  loop_.run_once(1000);
  EXPECT_EQ(driver_.used_idx(), 1);
}

TEST_F(MmioTransportTest, OddSizedRegisterAccessesAreIgnored) {
  uint8_t two[2] = {0xff, 0xff};
  transport_.read(mmio::kMagicValue, two);
  EXPECT_EQ(two[0], 0);
  uint8_t one[1] = {4};
  transport_.write(mmio::kStatus, one);
  EXPECT_EQ(reg(mmio::kStatus), 0u);
  uint8_t four[4] = {1, 0, 0, 0};
  transport_.write(mmio::kStatus + 2, std::span<uint8_t>(four, 2));
  EXPECT_EQ(reg(mmio::kStatus), 0u);
  // Out-of-range queue index on QueueNotify is dropped.
  set(mmio::kQueueNotify, 5);
  EXPECT_EQ(loop_.run_once(0), 0);
}

TEST_F(MmioTransportTest, ConfigSpaceBeyondTheDeviceReadsZero) {
  uint8_t data[4] = {1, 2, 3, 4};
  transport_.read(mmio::kConfig + 0x100, data);
  EXPECT_EQ(data[0] | data[1] | data[2] | data[3], 0);
  transport_.write(mmio::kConfig, data);  // rng has no config: ignored
}

// A driver that breaks the setup sequence on purpose (label hostile).
class HostileDriverTest : public MmioTransportTest {};

TEST_F(HostileDriverTest, QueueSetupBeforeFeaturesOkIsIgnored) {
  setup_queue();
  EXPECT_EQ(reg(mmio::kQueueReady), 0u);
  EXPECT_EQ(reg(mmio::kQueueDescLow), 0u);
  set(mmio::kStatus, kStatusAcknowledge | kStatusDriver);
  setup_queue();
  EXPECT_EQ(reg(mmio::kQueueReady), 0u);
}

TEST_F(HostileDriverTest, StatusStepsOutOfOrderAreDropped) {
  set(mmio::kStatus, kStatusDriver);  // DRIVER before ACKNOWLEDGE
  EXPECT_EQ(reg(mmio::kStatus), 0u);
  set(mmio::kStatus, kStatusDeviceNeedsReset | kStatusAcknowledge);  // a bit only we set
  EXPECT_EQ(reg(mmio::kStatus), 0u);
}

// The hole this transport once had: after DRIVER_OK the guest disabled the live queue, gave it
// a new size and notified again, and the queue indexed its old rings with the new size: host
// writes past the used ring (into the guard region after RAM, with these rings at its end).
TEST_F(HostileDriverTest, LiveQueueCannotBeResizedOrMoved) {
  negotiate(feature_bit(kFeatureVersion1));
  // A 2-entry queue whose used ring ends 8 bytes before the end of guest RAM.
  constexpr uint64_t kEnd = test::kTestMemoryBytes;
  constexpr uint64_t kUsed = kEnd - 24, kAvail = kEnd - 40, kDesc = kEnd - 96;
  set(mmio::kQueueSel, 0);
  set(mmio::kQueueNum, 2);
  set(mmio::kQueueDescLow, kDesc);
  set(mmio::kQueueDriverLow, kAvail);
  set(mmio::kQueueDeviceLow, kUsed);
  set(mmio::kQueueReady, 1);
  driver_ok();
  const uint64_t canary_at = kUsed + 4 + 8 * 2 + 2;  // just past avail_event
  memory_.write_obj<uint16_t>(canary_at, 0xc0de);

  set(mmio::kQueueReady, 0);
  set(mmio::kQueueNum, 0xffff);
  set(mmio::kQueueDescLow, 0x1000);
  EXPECT_EQ(reg(mmio::kQueueReady), 1u);
  EXPECT_EQ(reg(mmio::kQueueDescLow), kDesc);

  // Four buffers through the 2-entry ring, two at a time: a queue that took the new size would
  // read entries 2 and 3 of the available ring and write used entries 2 and 3, both past
  // their rings.
  const uint64_t buffer = 0x100000;
  for (uint16_t i = 0; i < 2; ++i)
    memory_.write_obj(kDesc + 16 * i, Descriptor{buffer, 8, kDescFlagWrite, 0});
  memory_.write_obj<uint16_t>(kAvail + 4, 0);
  memory_.write_obj<uint16_t>(kAvail + 6, 1);
  memory_.write_obj<uint16_t>(kAvail + 2, 2);
  set(mmio::kQueueNotify, 0);
  loop_.run_once(1000);
  EXPECT_EQ(memory_.read_obj<uint16_t>(kUsed + 2), 2);
  memory_.write_obj<uint16_t>(kAvail + 2, 4);
  set(mmio::kQueueNotify, 0);
  loop_.run_once(1000);
  EXPECT_EQ(memory_.read_obj<uint16_t>(kUsed + 2), 4);
  EXPECT_EQ(memory_.read_obj<uint16_t>(canary_at), 0xc0de);
  EXPECT_EQ(reg(mmio::kStatus) & kStatusDeviceNeedsReset, 0u);
}

TEST_F(HostileDriverTest, LateQueueEnableAfterDriverOkIsIgnored) {
  negotiate(feature_bit(kFeatureVersion1));
  driver_ok();
  setup_queue();
  EXPECT_EQ(reg(mmio::kQueueReady), 0u);
  driver_.add_chain({{driver_.alloc(8), 8, true}});
  set(mmio::kQueueNotify, 0);
  loop_.run_once(1000);
  EXPECT_EQ(driver_.used_idx(), 0);
}

TEST_F(HostileDriverTest, FailedStopsTheDeviceAndQueueSetup) {
  negotiate(feature_bit(kFeatureVersion1));
  setup_queue();
  driver_ok();
  set(mmio::kStatus,
      kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk | kStatusFailed);
  driver_.add_chain({{driver_.alloc(8), 8, true}});
  set(mmio::kQueueNotify, 0);
  loop_.run_once(1000);
  EXPECT_EQ(driver_.used_idx(), 0);
}

// A driver repeating a mistake (here: DRIVER_OK without FEATURES_OK, then a reset) must not
// be able to fill the host's logs with warnings.
TEST_F(HostileDriverTest, RepeatedMistakesWarnOnlyAFewTimes) {
  std::ostringstream log;
  auto previous = spdlog::default_logger();
  auto capture = std::make_shared<spdlog::logger>(
      "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(log));
  capture->set_level(spdlog::level::warn);
  spdlog::set_default_logger(capture);
  for (int i = 0; i < 100; ++i) {
    set(mmio::kStatus, kStatusAcknowledge | kStatusDriver | kStatusDriverOk);
    set(mmio::kStatus, 0);
  }
  spdlog::set_default_logger(previous);
  size_t warnings = 0;
  for (size_t at = log.str().find("DRIVER_OK"); at != std::string::npos;
       at = log.str().find("DRIVER_OK", at + 1))
    ++warnings;
  EXPECT_EQ(warnings, 8u) << log.str();
}

TEST_F(MmioTransportTest, ResetThenSetupServesTheNewRings) {
  negotiate(feature_bit(kFeatureVersion1));
  setup_queue();
  driver_ok();
  set(mmio::kStatus, 0);
  negotiate(feature_bit(kFeatureVersion1));
  setup_queue(4);
  driver_ok();
  TestDriver small{memory_, 4};
  small.add_chain({{small.alloc(8), 8, true}});
  set(mmio::kQueueNotify, 0);
  loop_.run_once(1000);
  EXPECT_EQ(small.used_idx(), 1);
}

}  // namespace
}  // namespace kvrun::vmm::virtio
