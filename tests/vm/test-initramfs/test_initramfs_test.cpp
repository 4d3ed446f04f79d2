// The test initramfs that device and agent VM tests build on: a shell script as /init, the
// kernel command line as its parameters, and the VM's exit status as its verdict.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

class TestInitramfs : public ::testing::Test {
 protected:
  void SetUp() override { KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel_); }

  ChildProcess boot(const std::string& params) const {
    return run_vmm({"--kernel", kernel_, "--initrd", KVRUN_SMOKE_INITRAMFS, "--cmdline",
                    "console=ttyS0 reboot=k " + params, "--memory", "128", "--timeout", "120"},
                   180s);
  }

  std::string kernel_;
};

TEST_F(TestInitramfs, ScriptStatusBecomesTheVmmStatus) {
  ChildProcess vm = boot("kvrun.word=hello kvrun.fail=no kvrun.status=42");
  EXPECT_TRUE(exited_with(vm, 42));
  EXPECT_TRUE(stdout_has(vm, "smoke: word=hello cpus=1\n"));
}

TEST_F(TestInitramfs, FailingStepEndsTheVmWithStatusOne) {
  ChildProcess vm = boot("kvrun.word=x kvrun.fail=yes kvrun.status=0");
  EXPECT_TRUE(exited_with(vm, 1));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: FAILED"));
}

}  // namespace
}  // namespace kvrun::test
