// The guest's serial output reaches the host unchanged up to the rate limit, never stops the
// VM whatever it says, and a flood costs the host no more than the limit.
#include "vmm/console_output.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "common/unique_fd.h"

namespace kvrun::vmm {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::steady_clock::time_point;

class ConsoleFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
    read_end_ = UniqueFd(fds[0]);
    write_end_ = UniqueFd(fds[1]);
    ASSERT_GE(::fcntl(write_end_.get(), F_SETPIPE_SZ, 1 << 20), 1 << 20);
  }

  ConsoleOutput console(ConsoleLimit limit) {
    return ConsoleOutput(write_end_.get(), stop_, limit, [this] { return now_; });
  }

  static void write(ConsoleOutput& out, const std::string& text) {
    out.write({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }

  std::string output() {
    std::string text;
    char buffer[65536];
    ssize_t n;
    while ((n = ::read(read_end_.get(), buffer, sizeof buffer)) > 0)
      text.append(buffer, static_cast<size_t>(n));
    return text;
  }

  VmStop stop_;
  TimePoint now_{};
  UniqueFd read_end_, write_end_;
};

class HostileConsole : public ConsoleFixture {};

TEST_F(HostileConsole, PanicLineIsOnlyText) {
  // Any guest process that can write to /dev/kmsg or ttyS0 can print this line.
  ConsoleOutput out = console({});
  const std::string line = "[    1.000000] Kernel panic - not syncing: fake\r\n";
  write(out, line);
  for (char c : line) write(out, std::string(1, c));
  EXPECT_FALSE(stop_.requested());
  EXPECT_EQ(output(), line + line);
}

TEST_F(HostileConsole, FloodIsCutToTheBurstThenTheRate) {
  ConsoleOutput out = console({1000, 4000});
  const std::string chunk(500, 'x');
  for (int i = 0; i < 100; ++i) write(out, chunk);  // 50000 bytes at once: 4000 pass
  EXPECT_EQ(output(), std::string(4000, 'x'));
  // Two seconds later the flood goes on: one marker, then two seconds' worth of bytes less
  // what the marker cost.
  now_ += 2s;
  for (int i = 0; i < 100; ++i) write(out, chunk);
  const std::string text = output();
  const std::string marker = "\n[kvrun-vmm: console rate limit: 46000 bytes dropped]\n";
  ASSERT_EQ(text.substr(0, marker.size()), marker);
  EXPECT_EQ(text.size() - marker.size(), 2000u - 80u);
  EXPECT_EQ(out.dropped_bytes(), 46000u + 50000u - (2000u - 80u));
  EXPECT_FALSE(stop_.requested());
}

TEST_F(HostileConsole, OneMarkerPerIntervalWhileTheFloodGoesOn) {
  ConsoleOutput out = console({1000, 1000});
  // A byte at a time for ten seconds, at ten times the rate.
  for (int i = 0; i < 100000; ++i) {
    write(out, "y");
    now_ += 100us;
  }
  const std::string text = output();
  size_t markers = 0;
  for (size_t at = 0; (at = text.find("[kvrun-vmm: console rate limit:", at)) != std::string::npos;
       ++at)
    ++markers;
  EXPECT_GE(markers, 8u);
  EXPECT_LE(markers, 10u);
  // Burst plus rate times ten seconds, markers included.
  EXPECT_LE(text.size(), 1000u + 10u * 1000u);
}

TEST_F(ConsoleFixture, QuietGuestLosesNothingAndGetsNoMarker) {
  ConsoleOutput out = console({1000, 2000});
  std::string expected;
  for (int i = 0; i < 50; ++i) {
    const std::string line = "line " + std::to_string(i) + "\n";
    write(out, line);
    expected += line;
    now_ += 100ms;
  }
  out.finish();
  EXPECT_EQ(output(), expected);
  EXPECT_EQ(out.dropped_bytes(), 0u);
}

TEST_F(ConsoleFixture, FinishReportsBytesDroppedAtTheEnd) {
  ConsoleOutput out = console({100, 100});
  write(out, std::string(150, 'z'));
  out.finish();
  EXPECT_EQ(output(),
            std::string(100, 'z') + "\n[kvrun-vmm: console rate limit: 50 bytes dropped]\n");
}

TEST_F(ConsoleFixture, RateZeroMeansNoLimit) {
  ConsoleOutput out = console({0, 0});
  write(out, std::string(300000, 'a'));
  EXPECT_EQ(output().size(), 300000u);
  EXPECT_EQ(out.dropped_bytes(), 0u);
}

// What docs/cli.md promises and the launcher relies on (it passes no console flags).
TEST(ConsoleLimit, DefaultsAre64KiBPerSecondAnd512KiBBurst) {
  EXPECT_EQ(ConsoleLimit{}.bytes_per_second, 64u * 1024);
  EXPECT_EQ(ConsoleLimit{}.burst_bytes, 512u * 1024);
}

TEST(TokenBucket, RefillsAtTheRateUpToTheBurst) {
  TimePoint t{};
  TokenBucket bucket(10, 20, t);
  EXPECT_EQ(bucket.take(100, t), 20u);
  EXPECT_EQ(bucket.take(100, t + 500ms), 5u);
  EXPECT_EQ(bucket.take(100, t + 1h), 20u);
  EXPECT_FALSE(bucket.take_all_or_nothing(1, t + 1h));
  EXPECT_TRUE(bucket.take_all_or_nothing(10, t + 1h + 1s));
}

TEST(TokenBucket, KeepsFractionsForByteAtATimeWriters) {
  TimePoint t{};
  TokenBucket bucket(1000, 1, t);
  ASSERT_EQ(bucket.take(1, t), 1u);
  uint64_t taken = 0;
  for (int i = 1; i <= 10000; ++i) taken += bucket.take(1, t + i * 100us);  // one second
  EXPECT_EQ(taken, 1000u);
}

}  // namespace
}  // namespace kvrun::vmm
