// VM sandboxes on a container network (label linux). The "container" namespace holds the veth
// end a CNI plugin would have made (10.209.7.2/24) and a default route; the "peer" namespace
// holds the other end (10.209.7.1/24). kvrun mirrors the veth to a tap for the VM, the guest's
// eth0 takes its MAC, addresses and routes, and traffic flows both ways.
#include <future>
#include <thread>

#include "cli_fixture.h"
#include "tests/unit/net/netns_fixture.h"
#include "tests/unit/net/tcp_peer.h"

namespace kvrun::e2e {
namespace {

using namespace std::chrono_literals;

std::string output_of(const std::string& command) {
  std::string text;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return text;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) text.append(buffer, n);
  ::pclose(pipe);
  return text;
}

class CliNetworkTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    use_vm_sandbox(KVRUN_VMM_PATH, KVRUN_INITRD_PATH);
    test::add_veth(container_ns, "10.209.7.2/24", peer_ns, "10.209.7.1/24");
    container_ns.ip({"route", "add", "default", "via", "10.209.7.1"});
  }

  // The mirror needs sch_ingress, cls_u32 and act_mirred in the kernel kvrun runs on (the
  // nested L1 kernel gets only the modules scripts/nested/build-l1.sh copies).
  bool tc_mirror_available() const {
    return test::command_succeeds(
        {"tc", "-n", container_ns.name(), "qdisc", "add", "dev", "lo", "ingress"});
  }

  nlohmann::json network_patch() const {
    return {{"linux",
             {{"namespaces",
               {{{"type", "pid"}},
                {{"type", "mount"}},
                {{"type", "uts"}},
                {{"type", "network"}, {"path", container_ns.path().string()}}}}}}};
  }

  void expect_mirror_gone() {
    EXPECT_FALSE(
        test::command_succeeds({"ip", "-n", container_ns.name(), "link", "show", "dev", "kvtap0"}));
    EXPECT_EQ(output_of("tc -n " + container_ns.name() + " qdisc show dev kvv0").find("ingress"),
              std::string::npos);
  }

  test::TestNetns container_ns, peer_ns;
};

TEST_F(CliNetworkTest, TheContainerReachesThePeerAndThePeerReachesTheContainer) {
  if (!tc_mirror_available()) GTEST_SKIP() << "no ingress qdisc in this kernel";
  const std::string to_container = test::random_bytes(1 << 20);
  const std::string to_peer = test::random_bytes(1 << 20);
  const std::string mac =
      output_of("ip netns exec " + container_ns.name() + " cat /sys/class/net/kvv0/address");
  UniqueFd listener = test::listen_tcp(peer_ns, "10.209.7.1", 7001);

  // busybox nc ends at EOF on its stdin: a FIFO held open keeps it reading the socket.
  auto dir =
      bundle("b",
             "busybox mkfifo /tmp/idle; exec 3<>/tmp/idle\n"
             "busybox ip -o addr show dev eth0; busybox ip route; busybox ip link show eth0\n"
             "echo fetched $(busybox nc 10.209.7.1 7001 <&3 | busybox sha256sum)\n"
             "echo received $(busybox nc -l -p 7002 <&3 | busybox sha256sum)\n",
             network_patch());
  auto run = std::async(std::launch::async, [&] {
    return kvrun({"run", "-b", dir.string(), "c1"}, {.input = "", .timeout_seconds = 150});
  });
  try {
    test::Transfer sent = test::send_bytes(listener.get(), to_peer, to_peer.size(), 120s);
    EXPECT_EQ(sent.bytes, to_peer.size());
  } catch (const std::exception& e) {
    Result r = run.get();
    FAIL() << e.what() << "\n" << r.out << r.err;
  }
  // The container listens once it has fetched; retry until it does.
  bool delivered = false;
  for (auto deadline = std::chrono::steady_clock::now() + 60s;
       !delivered && std::chrono::steady_clock::now() < deadline;) {
    try {
      test::connect_and_send(peer_ns, "10.209.7.2", 7002, to_container, to_container.size(), 30s);
      delivered = true;
    } catch (const std::exception&) {
      std::this_thread::sleep_for(200ms);
    }
  }
  EXPECT_TRUE(delivered) << "the container's server never accepted";
  Result r = run.get();
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("inet 10.209.7.2/24"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("default via 10.209.7.1 dev eth0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mtu 1500"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("link/ether " + mac.substr(0, 17)), std::string::npos) << r.out << mac;
  EXPECT_NE(r.out.find("fetched " + test::sha256_hex(to_peer)), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("received " + test::sha256_hex(to_container)), std::string::npos) << r.out;
  expect_mirror_gone();
  expect_nothing_left();
}

TEST_F(CliNetworkTest, DeleteRemovesTheTapAndQdiscs) {
  if (!tc_mirror_available()) GTEST_SKIP() << "no ingress qdisc in this kernel";
  auto dir = bundle("b", "busybox ip -o addr show dev eth0; sleep 600", network_patch());
  ASSERT_EQ(
      kvrun({"run", "-d", "-b", dir.string(), "c1"}, {.input = "", .timeout_seconds = 120}).status,
      0);
  EXPECT_TRUE(
      test::command_succeeds({"ip", "-n", container_ns.name(), "link", "show", "dev", "kvtap0"}));
  EXPECT_NE(output_of("tc -n " + container_ns.name() + " filter show dev kvv0 ingress")
                .find("Egress Redirect to device kvtap0"),
            std::string::npos);
  ASSERT_EQ(kvrun({"delete", "--force", "c1"}, {.input = "", .timeout_seconds = 30}).status, 0);
  expect_mirror_gone();
  expect_nothing_left();
}

TEST_F(CliNetworkTest, ANamespaceWithoutAnInterfaceGivesLoopbackOnly) {
  test::TestNetns empty;
  auto dir = bundle("b", "busybox ip -o link show | busybox wc -l; busybox ip -o link show",
                    {{"linux",
                      {{"namespaces",
                        {{{"type", "pid"}},
                         {{"type", "mount"}},
                         {{"type", "uts"}},
                         {{"type", "network"}, {"path", empty.path().string()}}}}}}});
  Result r = kvrun({"run", "-b", dir.string(), "c1"}, {.input = "", .timeout_seconds = 120});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
  // A new namespace of the guest's: loopback and nothing else (no tap was made for it).
  EXPECT_EQ(r.out.substr(0, 2), "1\n") << r.out;
  EXPECT_NE(r.out.find(": lo: "), std::string::npos) << r.out;
  EXPECT_FALSE(test::command_succeeds({"ip", "-n", empty.name(), "link", "show", "dev", "kvtap0"}));
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
