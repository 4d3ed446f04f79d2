// The keyboard controller exists for one reason: Linux's reboot=k.
#include "vmm/devices/i8042.h"

#include <gtest/gtest.h>

namespace kvrun::vmm {
namespace {

TEST(I8042, StatusAndDataReadZero) {
  I8042 kbd([] {});
  uint8_t v = 0xaa;
  kbd.read(I8042::kCommandOffset, {&v, 1});
  EXPECT_EQ(v, 0) << "input buffer empty, so a reboot does not wait forever";
  v = 0xaa;
  kbd.read(I8042::kDataOffset, {&v, 1});
  EXPECT_EQ(v, 0);
}

TEST(I8042, ResetCommandRequestsReset) {
  int resets = 0;
  I8042 kbd([&] { ++resets; });
  const uint8_t cmd = I8042::kCmdResetCpu;
  kbd.write(I8042::kCommandOffset, {&cmd, 1});
  EXPECT_EQ(resets, 1);
}

TEST(I8042, OtherWritesDoNotReset) {
  int resets = 0;
  I8042 kbd([&] { ++resets; });
  const uint8_t fe = 0xfe;
  kbd.write(I8042::kDataOffset, {&fe, 1});  // 0xfe to the data port is not the command
  const uint8_t other = 0xaa;
  kbd.write(I8042::kCommandOffset, {&other, 1});
  const uint8_t wide[2] = {0xfe, 0xfe};
  kbd.write(I8042::kCommandOffset, {wide, 0});
  EXPECT_EQ(resets, 0);
}

TEST(I8042, PortsBetweenDataAndStatusFloatHigh) {
  I8042 kbd([] {});
  uint8_t v = 0;
  kbd.read(2, {&v, 1});
  EXPECT_EQ(v, 0xff);
}

}  // namespace
}  // namespace kvrun::vmm
