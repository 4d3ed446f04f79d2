// Boots the real guest kernel with our initramfs on kvrun-vmm (ctest label `linux`): the whole
// boot path up to the agent (PID 1) listening on vsock. Slow (a kernel boot each), hence a label
// of its own.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

// No panic=: a panicking kernel then halts, and the VMM reports it as status 125 instead of
// the reset that panic=N would turn into a clean-looking exit 0.
constexpr const char* kCmdline = "console=ttyS0 reboot=k";
// The agent powers the VM off once it is ready instead of serving.
constexpr const char* kPowerOff = " kvrun.init=poweroff-when-ready";

class LinuxBoot : public ::testing::Test {
 protected:
  void SetUp() override { KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel_); }

  std::vector<std::string> args(int cpus, const std::string& extra_cmdline = "") const {
    return {"--kernel",           kernel_,     "--initrd",
            initramfs_path(),     "--cmdline", std::string(kCmdline) + extra_cmdline,
            "--memory",           "256",       "--cpus",
            std::to_string(cpus), "--timeout", "300"};
  }

  std::string kernel_;
};

TEST_F(LinuxBoot, ReachesTheAgentAndPowersOff) {
  ChildProcess vm = run_vmm(args(1, kPowerOff), 400s);
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-init: ready uptime="));
  EXPECT_TRUE(stdout_has(vm, " cpus=1 listen=vsock:1024"));
  EXPECT_FALSE(stdout_has(vm, "kvrun-agent: fatal"));
}

TEST_F(LinuxBoot, KernelSeesTwoVcpus) {
  ChildProcess vm = run_vmm(args(2, kPowerOff), 400s);
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-init: ready uptime="));
  EXPECT_TRUE(stdout_has(vm, " cpus=2 listen=vsock:1024"));
}

TEST_F(LinuxBoot, AgentKeepsServing) {
  std::vector<std::string> argv{vmm_path()};
  for (const std::string& arg : args(1)) argv.push_back(arg);
  ChildProcess vm = ChildProcess::spawn(argv);
  ASSERT_TRUE(vm.wait_for_stdout("kvrun-init: ready", 400s)) << transcript(vm);
  // Still running a while later: the agent neither powered off nor died (which would panic).
  EXPECT_FALSE(vm.wait(2s).has_value())
      << "the VM stopped although the agent should serve" << transcript(vm);
}

}  // namespace
}  // namespace kvrun::test
