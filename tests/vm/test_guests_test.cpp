// Boots each test guest (vmm/test-guests) on kvrun-vmm and checks what a user would see: the
// exit status and the guest's serial output on stdout.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

// The VMM's own limit keeps a broken guest from running forever; the test's deadline is later
// so that the VMM, not the test, is what reports a hang.
constexpr auto kTestDeadline = 90s;

class TestGuest : public ::testing::Test {
 protected:
  void SetUp() override { KVRUN_REQUIRE_KVM(); }

  static ChildProcess boot(const std::string& guest, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--kernel", test_guest_path(guest), "--timeout", "60"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_vmm(args, kTestDeadline);
  }
};

TEST_F(TestGuest, HelloPrintsItsLineAndExitsZero) {
  ChildProcess vm = boot("hello");
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_EQ(vm.stdout_text(), "kvrun-test-guest: hello\n") << transcript(vm);
}

TEST_F(TestGuest, HelloRunsWithTwoVcpus) {
  ChildProcess vm = boot("hello", {"--cpus", "2"});
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test-guest: hello\n"));
}

TEST_F(TestGuest, ExitPortValueBecomesExitStatus) {
  ChildProcess vm = boot("exit-status");
  EXPECT_TRUE(exited_with(vm, 42));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test-guest: exit-status 42\n"));
}

TEST_F(TestGuest, I8042ResetIsACleanStop) {
  ChildProcess vm = boot("reset");
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test-guest: reset\n"));
}

TEST_F(TestGuest, BootParamsCarryTheCommandLineAndE820Map) {
  const std::string cmdline = "console=ttyS0 kvrun.test=" + unique_token();
  ChildProcess vm = boot("bootparams", {"--cmdline", cmdline});
  EXPECT_TRUE(exited_with(vm, 0));
  // The VMM appends its own devices' switches (here only the pvpanic port's).
  EXPECT_TRUE(stdout_has(
      vm, "kvrun-test-guest: bootparams cmdline=\"" + cmdline + " kvrun.pvpanic=0x505\"\n"));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test-guest: bootparams ok\n"));
}

TEST_F(TestGuest, MemtestSeesAllOf128MiB) {
  ChildProcess vm = boot("memtest", {"--memory", "128"});
  EXPECT_TRUE(exited_with(vm, 0));
  // Everything from 2 MiB (below it: the guest itself) to the top of RAM.
  EXPECT_TRUE(stdout_has(vm, "kvrun-test-guest: memtest tested=126 MiB\n"));
}

TEST_F(TestGuest, MemtestSeesAllOf512MiB) {
  ChildProcess vm = boot("memtest", {"--memory", "512"});
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test-guest: memtest tested=510 MiB\n"));
}

TEST_F(TestGuest, CpuidShowsTheKvmHypervisor) {
  ChildProcess vm = boot("cpuid");
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test-guest: cpuid hypervisor=1 signature=KVMKVMKVM"));
}

TEST_F(TestGuest, UnclaimedMmioAndPortsReadAsFloatingBus) {
  ChildProcess vm = boot("mmio-hostile", {"--memory", "128"});
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, " unexpected=0\n"));
}

// A driver that resizes and moves its live virtio queue must not make the VMM write past the
// rings it was given (the guest's rings end at the end of its RAM, so such a write would reach
// host memory).
class HostileGuest : public TestGuest {};

TEST_F(HostileGuest, LiveVirtioQueueCannotBeResizedOrMoved) {
  ChildProcess vm = boot("virtio-hostile", {"--memory", "16", "--rng"});
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "virtio-hostile ok\n"));
}

TEST_F(TestGuest, SerialEchoesStdinUntilQ) {
  ChildProcess vm = ChildProcess::spawn(
      {vmm_path(), "--kernel", test_guest_path("serial-echo"), "--timeout", "60"});
  ASSERT_TRUE(vm.wait_for_stdout("kvrun-test-guest: serial-echo ready\n", kTestDeadline))
      << transcript(vm);
  vm.write_stdin("echo-from-host q");
  vm.wait(kTestDeadline);
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "ready\necho-from-host \nkvrun-test-guest: serial-echo done\n"));
}

}  // namespace
}  // namespace kvrun::test
