// Console scenes in our Linux guest (ctest label linux, Hostile* also hostile): how a VM ends
// is decided by the guest kernel's pvpanic report, never by text on the console.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

class ConsoleScene : public ::testing::Test {
 protected:
  void SetUp() override { KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel_); }

  // panic=1 as the launcher sets it (shim/sandbox/launcher.cpp): the report must come before
  // the kernel's reboot, which would end the VM with a clean-looking 0.
  ChildProcess boot(const std::string& scene) const {
    return run_vmm({"--kernel", kernel_, "--initrd", KVRUN_CONSOLE_INITRAMFS, "--cmdline",
                    "console=ttyS0 reboot=k panic=1 kvrun.scene=" + scene, "--memory", "128",
                    "--timeout", "120"},
                   180s);
  }

  std::string kernel_;
};

class HostileConsoleScene : public ConsoleScene {};

TEST_F(HostileConsoleScene, PanicLinesFromAProcessDoNotEndTheVm) {
  ChildProcess vm = boot("fake");
  EXPECT_TRUE(exited_with(vm, 7)) << "console text decided how the VM ended";
  EXPECT_TRUE(stdout_has(vm, "Kernel panic - not syncing: fake (ttyS0)"));
  EXPECT_TRUE(stdout_has(vm, "Kernel panic - not syncing: fake (kmsg)"));
  EXPECT_TRUE(stdout_has(vm, "console-scene: still running"));
  EXPECT_FALSE(stderr_has(vm, "guest kernel panic"));
}

TEST_F(ConsoleScene, KernelPanicEndsTheVmWith125) {
  ChildProcess vm = boot("panic");
  EXPECT_TRUE(exited_with(vm, 125));
  EXPECT_TRUE(stderr_has(vm, "kvrun-vmm: guest kernel panic: reported on the pvpanic port"));
  // The kernel flushes its console before the report: the log says why it panicked.
  EXPECT_TRUE(stdout_has(vm, "Kernel panic - not syncing: Attempted to kill init!"));
  EXPECT_FALSE(stdout_has(vm, "Rebooting in")) << "the VM ran on past the report";
}

}  // namespace
}  // namespace kvrun::test
