// The pvpanic port is how the guest kernel reports a panic; nothing else may look like one.
#include "vmm/devices/pvpanic.h"

#include <gtest/gtest.h>

namespace kvrun::vmm {
namespace {

TEST(PvPanic, ReadsTellTheKernelThatPanicsAreTaken) {
  PvPanic port([] {});
  uint8_t r = 0xff;
  port.read(0, {&r, 1});
  EXPECT_EQ(r, PvPanic::kPanicked);
}

TEST(PvPanic, PanickedEventIsReported) {
  int calls = 0;
  PvPanic port([&] { ++calls; });
  const uint8_t v = PvPanic::kPanicked;
  port.write(0, {&v, 1});
  EXPECT_EQ(calls, 1);
}

TEST(PvPanic, OtherEventsAndOffsetsAreIgnored) {
  int calls = 0;
  PvPanic port([&] { ++calls; });
  const uint8_t crash_loaded = PvPanic::kCrashLoaded;
  port.write(0, {&crash_loaded, 1});
  const uint8_t zero = 0;
  port.write(0, {&zero, 1});
  const uint8_t panicked = PvPanic::kPanicked;
  port.write(1, {&panicked, 1});
  port.write(0, {});
  EXPECT_EQ(calls, 0);
}

TEST(PvPanic, CommandLineNamesThePort) {
  EXPECT_EQ(pvpanic_cmdline(0x505), " kvrun.pvpanic=0x505");
}

}  // namespace
}  // namespace kvrun::vmm
