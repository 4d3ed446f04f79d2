// Agent peers in a real guest (labels linux, hostile; issue 16, hole 6): no process in the
// guest, in a container or not, gets a vsock connection to the agent's port 1024 on CID 1, 2
// or 3 (tests/vm/agent/peers.sh). The host's own way in is AgentInVm.HostTalksToTheAgent...
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

class HostileAgentPeersInVm : public ::testing::Test {
 protected:
  void SetUp() override { KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel_); }
  std::string kernel_;
};

TEST_F(HostileAgentPeersInVm, NoGuestProcessReachesTheAgentOverVsock) {
  char dir_template[] = "/tmp/kvrun-agent-peers.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  // A vsock device, so CID 2 and 3 have a transport to try (the VMM's).
  ChildProcess vm =
      run_vmm({"--kernel", kernel_, "--initrd", KVRUN_AGENT_VM_INITRAMFS, "--cmdline",
               "console=ttyS0 reboot=k kvrun.test=peers", "--memory", "256", "--cpus", "2",
               "--vsock", "cid=3,uds=" + dir + "/vsock.sock", "--timeout", "150"},
              200s);
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: peers checks passed"));
  EXPECT_FALSE(stdout_has(vm, ":1024 answered"));  // not "closed unanswered"
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvrun::test
