// The I/O bus routes by range and keeps a guest's wild accesses away from devices.
#include "vmm/devices/io_bus.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "common/error.h"

namespace kvrun::vmm {
namespace {

// Records every access; reads return the low byte of the offset plus the byte index.
class RecordingDevice : public BusDevice {
 public:
  struct Access {
    bool write;
    uint64_t offset;
    std::vector<uint8_t> data;
  };
  void read(uint64_t offset, std::span<uint8_t> data) override {
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(offset + i);
    accesses.push_back({false, offset, {data.begin(), data.end()}});
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    accesses.push_back({true, offset, {data.begin(), data.end()}});
  }
  std::vector<Access> accesses;
};

TEST(IoBus, DispatchesByRangeWithRelativeOffsets) {
  IoBus bus("pio");
  auto a = std::make_shared<RecordingDevice>();
  auto b = std::make_shared<RecordingDevice>();
  bus.insert(a, 0x3f8, 8, "a");
  bus.insert(b, 0x60, 5, "b");

  uint8_t byte = 0;
  EXPECT_TRUE(bus.read(0x3fd, {&byte, 1}));
  EXPECT_EQ(byte, 5);
  const uint8_t value = 0xfe;
  EXPECT_TRUE(bus.write(0x64, {&value, 1}));

  ASSERT_EQ(a->accesses.size(), 1u);
  EXPECT_FALSE(a->accesses[0].write);
  EXPECT_EQ(a->accesses[0].offset, 5u);
  ASSERT_EQ(b->accesses.size(), 1u);
  EXPECT_TRUE(b->accesses[0].write);
  EXPECT_EQ(b->accesses[0].offset, 4u);
  EXPECT_EQ(b->accesses[0].data, std::vector<uint8_t>{0xfe});
}

TEST(IoBus, UnknownAddressReadsAllOnesAndIgnoresWrites) {
  IoBus bus("pio");
  auto dev = std::make_shared<RecordingDevice>();
  bus.insert(dev, 0x3f8, 8, "serial");

  uint8_t data[4] = {1, 2, 3, 4};
  EXPECT_FALSE(bus.read(0x80, data));
  for (uint8_t b : data) EXPECT_EQ(b, 0xff);
  EXPECT_FALSE(bus.write(0x80, data));
  EXPECT_TRUE(dev->accesses.empty());
}

TEST(IoBus, AccessStraddlingTheEndOfARangeReachesNoDevice) {
  IoBus bus("mmio");
  auto dev = std::make_shared<RecordingDevice>();
  bus.insert(dev, 0x1000, 0x10, "dev");

  uint8_t data[4] = {};
  EXPECT_FALSE(bus.read(0x100e, data));  // 0x100e..0x1011 crosses the end at 0x1010
  EXPECT_EQ(data[0], 0xff);
  EXPECT_FALSE(bus.read(0xffe, data));  // starts before the base
  EXPECT_TRUE(bus.read(0x100c, data));  // the last four bytes exactly
  EXPECT_EQ(dev->accesses.size(), 1u);
}

TEST(IoBus, AddressNearTheTopDoesNotWrap) {
  IoBus bus("mmio");
  auto dev = std::make_shared<RecordingDevice>();
  bus.insert(dev, 0xffff'ffff'ffff'fff0, 0x10, "top");
  uint8_t data[8] = {};
  EXPECT_FALSE(bus.read(0xffff'ffff'ffff'fffc, data));
  EXPECT_TRUE(bus.read(0xffff'ffff'ffff'fff8, data));
}

TEST(IoBus, RejectsOverlappingEmptyAndWrappingRanges) {
  IoBus bus("pio");
  auto dev = std::make_shared<RecordingDevice>();
  bus.insert(dev, 0x3f8, 8, "serial");
  EXPECT_THROW(bus.insert(dev, 0x3f8, 8, "same"), Error);
  EXPECT_THROW(bus.insert(dev, 0x3f0, 9, "ends inside"), Error);
  EXPECT_THROW(bus.insert(dev, 0x3ff, 4, "starts inside"), Error);
  EXPECT_THROW(bus.insert(dev, 0x3f0, 0x20, "covers"), Error);
  EXPECT_THROW(bus.insert(dev, 0x500, 0, "empty"), Error);
  EXPECT_THROW(bus.insert(dev, 0xffff'ffff'ffff'fff0, 0x20, "wraps"), Error);
  EXPECT_THROW(bus.insert(nullptr, 0x600, 1, "null"), Error);
  // Adjacent on both sides is fine.
  EXPECT_NO_THROW(bus.insert(dev, 0x3f0, 8, "below"));
  EXPECT_NO_THROW(bus.insert(dev, 0x400, 8, "above"));
}

TEST(IoBus, OverlapErrorNamesBothDevices) {
  IoBus bus("pio");
  bus.insert(std::make_shared<RecordingDevice>(), 0x60, 5, "i8042");
  try {
    bus.insert(std::make_shared<RecordingDevice>(), 0x64, 1, "intruder");
    FAIL() << "overlap accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("intruder"), std::string::npos) << what;
    EXPECT_NE(what.find("i8042"), std::string::npos) << what;
  }
}

TEST(IoBus, ZeroLengthAccessGoesNowhere) {
  IoBus bus("pio");
  auto dev = std::make_shared<RecordingDevice>();
  bus.insert(dev, 0x10, 4, "dev");
  EXPECT_FALSE(bus.read(0x10, {}));
  EXPECT_TRUE(dev->accesses.empty());
}

}  // namespace
}  // namespace kvrun::vmm
