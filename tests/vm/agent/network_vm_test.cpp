// ConfigureNetwork end to end (label linux): the agent as PID 1 on a virtio-net device whose tap
// lives in a network namespace this test creates. The guest script (network.sh) configures the
// link through the agent and starts a container that names a host network namespace path with
// "network": true; the container pings this side, connects to it, and serves a connection
// from it.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <string>

#include "tests/unit/net/netns_fixture.h"
#include "tests/unit/net/tcp_peer.h"
#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

TEST(AgentNetworkInVm, ContainerOnTheConfiguredNetworkReachesAndServesTheHostSide) {
  std::string kernel;
  KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel);

  TestNetns ns;
  ns.add_tap("kvt0", "10.209.3.1/24");
  UniqueFd ready = listen_tcp(ns, "10.209.3.1", 5003);
  // When the container says its server is up, send it a line.
  auto served = std::async(std::launch::async, [&] {
    Transfer said = receive_bytes(ready.get(), 6, 100s);
    if (said.data != "ready\n") return "the container said '" + said.data + "'";
    connect_and_send(ns, "10.209.3.2", 5004, "to-container", 12, 30s);
    return std::string("sent");
  });

  ChildProcess vm = run_vmm(
      {"--kernel", kernel, "--initrd", KVRUN_AGENT_VM_INITRAMFS, "--cmdline",
       "console=ttyS0 reboot=k kvrun.test=network", "--memory", "256", "--cpus", "2", "--timeout",
       "150", "--net", "tap=kvt0,netns=" + ns.path().string() + ",mac=02:00:0a:d1:03:02"},
      200s);
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: ctr0 configured"));
  EXPECT_TRUE(stdout_has(vm, "inet 10.209.3.2/24"));  // the container's own view of ctr0
  EXPECT_TRUE(stdout_has(vm, "2 packets transmitted, 2 packets received"));
  EXPECT_TRUE(stdout_has(vm, "container got: to-container"));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: network checks passed"));
  ASSERT_EQ(served.wait_for(10s), std::future_status::ready);
  std::string outcome;
  try {
    outcome = served.get();
  } catch (const std::exception& e) {
    outcome = e.what();
  }
  EXPECT_EQ(outcome, "sent");
}

TEST(AgentNetworkInVm, ThePodsNetworkNamespaceGetsTheLink) {
  std::string kernel;
  KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel);
  TestNetns ns;
  ns.add_tap("kvt0", "10.209.3.1/24");
  ChildProcess vm = run_vmm({"--kernel", kernel, "--initrd", KVRUN_AGENT_VM_INITRAMFS, "--cmdline",
                             "console=ttyS0 reboot=k kvrun.test=network_pod", "--memory", "256",
                             "--cpus", "2", "--timeout", "150", "--net",
                             "tap=kvt0,netns=" + ns.path().string() + ",mac=02:00:0a:d1:03:02"},
                            200s);
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "in the pod's namespace"));
  EXPECT_TRUE(stdout_has(vm, "inet 10.209.3.2/24"));
  EXPECT_TRUE(stdout_has(vm, "1 packets transmitted, 1 packets received"));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: pod network checks passed"));
}

}  // namespace
}  // namespace kvrun::test
