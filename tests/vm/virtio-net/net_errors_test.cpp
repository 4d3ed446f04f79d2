// kvrun-vmm's --net mistakes (label `unit`: no KVM, no root): each ends the VMM with status 1
// and one line that names what was wrong, before any VM exists.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

std::string vmm_error(const std::string& net_option) {
  std::string error;
  std::string kernel = guest_kernel_path(error);
  if (kernel.empty()) kernel = test_guest_path("hello");  // any readable file will do
  ChildProcess vm = run_vmm({"--kernel", kernel, "--net", net_option}, 30s);
  EXPECT_TRUE(exited_with(vm, 1));
  EXPECT_EQ(count_lines(vm.stderr_text()), 1) << vm.stderr_text();
  return vm.stderr_text();
}

TEST(VirtioNetErrors, BadOptionIsOneLine) {
  EXPECT_EQ(vmm_error("netns=/run/netns/x"),
            "kvrun-vmm: --net 'netns=/run/netns/x': tap=NAME is required\n");
  EXPECT_EQ(vmm_error("tap=kvt0,mac=01:00:5e:00:00:01"),
            "kvrun-vmm: MAC address '01:00:5e:00:00:01': multicast, a NIC needs a unicast "
            "address\n");
  EXPECT_EQ(vmm_error("tap=a/b"),
            "kvrun-vmm: tap name 'a/b': holds a character interface names cannot ('/', ':', "
            "'%', space or control)\n");
}

TEST(VirtioNetErrors, MissingNamespaceIsNamed) {
  EXPECT_EQ(vmm_error("tap=kvt0,netns=/run/netns/kvt-no-such-namespace"),
            "kvrun-vmm: network namespace /run/netns/kvt-no-such-namespace: No such file or "
            "directory\n");
}

}  // namespace
}  // namespace kvrun::test
