// The device scene in a real guest (tests/vm/agent/devices.sh, label linux and hostile): a
// container with containerd's capabilities and device rules makes nodes for the VM's disk,
// /dev/kmsg, ttyS0 and /dev/mem and cannot open them; the default devices and a device a rule
// allows still open; nodes in /dev and an overlay root never do.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

TEST(HostileDevicesInVm, ContainersCannotOpenTheGuestsDisksConsoleOrKmsg) {
  std::string kernel;
  KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel);
  char dir_template[] = "/tmp/kvrun-devices.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string disk = std::string(dir_template) + "/disk.img";
  {
    // Another pod member's disk: what the container must not read.
    std::ofstream image(disk, std::ios::binary);
    std::string block(1 << 20, '\0');
    block.replace(0, 19, "kvrun-member-secret");
    image << block;
  }
  ChildProcess vm = run_vmm({"--kernel", kernel, "--initrd", KVRUN_AGENT_VM_INITRAMFS, "--disk",
                             disk, "--cmdline", "console=ttyS0 reboot=k kvrun.test=devices",
                             "--memory", "256", "--cpus", "2", "--timeout", "150"},
                            200s);
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: device checks passed"));
  EXPECT_FALSE(stdout_has(vm, "kvrun-member-secret"));
  std::filesystem::remove_all(dir_template);
}

}  // namespace
}  // namespace kvrun::test
