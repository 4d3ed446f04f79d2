// The exit port turns one guest byte into kvrun-vmm's exit status.
#include "vmm/devices/exit_port.h"

#include <gtest/gtest.h>

#include <optional>

namespace kvrun::vmm {
namespace {

TEST(ExitPort, ByteWriteRequestsThatStatus) {
  std::optional<int> status;
  ExitPort port([&](uint8_t s) { status = s; });
  const uint8_t v = 42;
  port.write(0, {&v, 1});
  EXPECT_EQ(status, 42);
}

TEST(ExitPort, WideWriteUsesTheLowByte) {
  std::optional<int> status;
  ExitPort port([&](uint8_t s) { status = s; });
  const uint8_t v[4] = {7, 1, 2, 3};  // outl 0x03020107
  port.write(0, v);
  EXPECT_EQ(status, 7);
}

TEST(ExitPort, WritesAtOtherOffsetsAndReadsDoNothing) {
  int calls = 0;
  ExitPort port([&](uint8_t) { ++calls; });
  const uint8_t v = 1;
  port.write(1, {&v, 1});
  uint8_t r = 0;
  port.read(0, {&r, 1});
  EXPECT_EQ(r, 0xff);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace kvrun::vmm
