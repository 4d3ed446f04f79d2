// How a VM ends: the exit status contract and the first-request-wins stop state.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>

#include <atomic>
#include <thread>
#include <vector>

#include "vmm/stop.h"

namespace kvrun::vmm {
namespace {

TEST(ExitStatus, Contract) {
  EXPECT_EQ(exit_status({StopCause::kGuestExit, 0, {}}), 0);
  EXPECT_EQ(exit_status({StopCause::kGuestExit, 42, {}}), 42);
  EXPECT_EQ(exit_status({StopCause::kGuestExit, 255, {}}), 255);
  EXPECT_EQ(exit_status({StopCause::kReboot, 0, {}}), 0);
  EXPECT_EQ(exit_status({StopCause::kPanic, 0, "x"}), 125);
  EXPECT_EQ(exit_status({StopCause::kTimeout, 5, {}}), 124);
  EXPECT_EQ(exit_status({StopCause::kSignal, SIGINT, {}}), 130);
  EXPECT_EQ(exit_status({StopCause::kSignal, SIGTERM, {}}), 143);
  EXPECT_EQ(exit_status({StopCause::kError, 0, "boom"}), 1);
}

TEST(ExitStatus, Messages) {
  EXPECT_EQ(stop_message({StopCause::kTimeout, 2, {}}), "guest did not stop within 2 s");
  EXPECT_EQ(stop_message({StopCause::kPanic, 0, "Kernel panic - not syncing: x"}),
            "guest kernel panic: Kernel panic - not syncing: x");
  EXPECT_EQ(stop_message({StopCause::kError, 0, "/dev/kvm: No such file or directory"}),
            "/dev/kvm: No such file or directory");
  EXPECT_FALSE(stop_message({StopCause::kGuestExit, 3, {}}));
  EXPECT_FALSE(stop_message({StopCause::kReboot, 0, {}}));
  EXPECT_FALSE(stop_message({StopCause::kSignal, SIGTERM, {}}));
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST(VmStop, FirstRequestWinsAndWakesTheFd) {
  VmStop stop;
  EXPECT_FALSE(stop.requested());
  EXPECT_FALSE(readable(stop.fd()));
  EXPECT_FALSE(stop.outcome());
  EXPECT_TRUE(stop.request({StopCause::kGuestExit, 7, {}}));
  EXPECT_FALSE(stop.request({StopCause::kReboot, 0, {}}));
  EXPECT_TRUE(stop.requested());
  EXPECT_TRUE(readable(stop.fd()));
  ASSERT_TRUE(stop.outcome());
  EXPECT_EQ(stop.outcome()->cause, StopCause::kGuestExit);
  EXPECT_EQ(stop.outcome()->value, 7);
}

TEST(VmStop, ConcurrentRequestsHaveExactlyOneWinner) {
  VmStop stop;
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      if (stop.request({StopCause::kGuestExit, i, {}})) ++winners;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
  EXPECT_TRUE(stop.requested());
}

}  // namespace
}  // namespace kvrun::vmm
