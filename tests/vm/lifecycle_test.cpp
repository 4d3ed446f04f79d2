// How a VM ends when the guest does not end it: --timeout, SIGTERM. Both must leave nothing
// running behind them.
#include <gtest/gtest.h>
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <string>

#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class VmLifecycle : public ::testing::Test {
 protected:
  void SetUp() override { KVRUN_REQUIRE_KVM(); }

  // The token goes on the guest command line so leftovers can be found by their argv.
  const std::string token_ = unique_token();

  void expect_nothing_left(pid_t pid) {
    errno = 0;
    EXPECT_EQ(::kill(pid, 0), -1) << "kvrun-vmm pid " << pid << " still exists";
    EXPECT_EQ(errno, ESRCH);
    EXPECT_TRUE(processes_with_argument(token_).empty())
        << "a process with this VM's argv is still running";
  }
};

TEST_F(VmLifecycle, TimeoutStopsAHungGuestWith124) {
  const auto start = Clock::now();
  ChildProcess vm = run_vmm(
      {"--kernel", test_guest_path("hang"), "--timeout", "2", "--cmdline", "token=" + token_}, 60s);
  const auto elapsed = Clock::now() - start;
  EXPECT_TRUE(exited_with(vm, 124));
  EXPECT_TRUE(stderr_has(vm, "kvrun-vmm: guest did not stop within 2 s"));
  EXPECT_GE(elapsed, 1900ms) << "stopped before the timeout" << transcript(vm);
  EXPECT_LT(elapsed, 15s) << "took far longer than --timeout 2" << transcript(vm);
  expect_nothing_left(vm.pid());
}

TEST_F(VmLifecycle, SigtermStopsARunningVmWith143) {
  ChildProcess vm = ChildProcess::spawn({vmm_path(), "--kernel", test_guest_path("hang"),
                                         "--timeout", "120", "--cmdline", "token=" + token_});
  // The guest prints before spinning, so the vCPU is known to be in the guest.
  ASSERT_TRUE(vm.wait_for_stdout("kvrun-test-guest: hang\n", 60s)) << transcript(vm);
  const auto signalled = Clock::now();
  vm.send_signal(SIGTERM);
  vm.wait(30s);
  const auto elapsed = Clock::now() - signalled;
  EXPECT_TRUE(exited_with(vm, 143));
  EXPECT_LT(elapsed, 3s) << "SIGTERM took too long to stop the VM" << transcript(vm);
  expect_nothing_left(vm.pid());
}

}  // namespace
}  // namespace kvrun::test
