// A kernel panic on the console must end the VM with the panic line, however it arrives.
#include "vmm/devices/panic_detector.h"

#include <gtest/gtest.h>

#include <string>

namespace kvrun::vmm {
namespace {

std::optional<std::string> feed(PanicDetector& d, const std::string& s) {
  return d.feed({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

const std::string kPanic =
    "Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)";

TEST(PanicDetector, IgnoresOrdinaryOutput) {
  PanicDetector d;
  EXPECT_FALSE(feed(d, "Linux version 6.1\nKernel command line: panic=1\n"));
  EXPECT_FALSE(feed(d, "Kernel panic is not what this line says\n"));
}

TEST(PanicDetector, ReportsThePanicLineFromTheMarker) {
  PanicDetector d;
  auto line = feed(d, "[    1.234567] " + kPanic + "\n");
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, kPanic);
}

TEST(PanicDetector, WaitsForTheEndOfTheLine) {
  PanicDetector d;
  EXPECT_FALSE(feed(d, kPanic));
  auto line = feed(d, "\r\n");
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, kPanic) << "no carriage return in the report";
}

TEST(PanicDetector, MarkerSplitAcrossWritesByteByByte) {
  PanicDetector d;
  const std::string text = "boot ok\n[ 0.5] " + kPanic + "\nmore\n";
  std::optional<std::string> found;
  for (char c : text) {
    auto r = feed(d, std::string(1, c));
    if (r) {
      EXPECT_FALSE(found) << "reported twice";
      found = r;
    }
  }
  ASSERT_TRUE(found);
  EXPECT_EQ(*found, kPanic);
}

TEST(PanicDetector, ReportsOnlyTheFirstPanic) {
  PanicDetector d;
  EXPECT_TRUE(feed(d, kPanic + "\n"));
  EXPECT_FALSE(feed(d, "---[ end " + kPanic + " ]---\n"));
}

TEST(PanicDetector, RunawayLineStaysBoundedAndStillFindsALateMarker) {
  PanicDetector d;
  EXPECT_FALSE(feed(d, std::string(10 * PanicDetector::kMaxLine + 3, 'x')));
  auto line = feed(d, kPanic + "\n");
  ASSERT_TRUE(line);
  EXPECT_EQ(*line, kPanic);
}

TEST(PanicDetector, MarkerFollowedByARunawayTailIsTruncated) {
  PanicDetector d;
  EXPECT_FALSE(feed(d, kPanic + std::string(5 * PanicDetector::kMaxLine, 'y')));
  auto line = feed(d, "\n");
  ASSERT_TRUE(line);
  EXPECT_EQ(line->rfind(std::string(PanicDetector::kMarker), 0), 0u);
  EXPECT_EQ(line->size(), PanicDetector::kMaxLine);
}

}  // namespace
}  // namespace kvrun::vmm
