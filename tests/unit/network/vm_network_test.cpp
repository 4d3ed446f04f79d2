// The mirror in real namespaces: "container" holds one end of a veth pair (the uplink a CNI
// plugin would make), "peer" the other. Addresses are 10.209.5.0/24 and fd00:209:5::/64 only.
#include "shim/network/vm_network.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>

#include "common/error.h"
#include "common/unique_fd.h"
#include "common/netns.h"
#include "shim/network/netns_thread.h"
#include "tests/unit/net/netns_fixture.h"

namespace kvrun::network {
namespace {

using test::TestNetns;

std::string output_of(const std::string& command) {
  std::string text;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw Error("popen " + command);
  std::array<char, 4096> buffer;
  while (std::size_t n = std::fread(buffer.data(), 1, buffer.size(), pipe))
    text.append(buffer.data(), n);
  ::pclose(pipe);
  return text;
}

bool link_exists(const TestNetns& ns, const std::string& name) {
  return test::command_succeeds({"ip", "-n", ns.name(), "link", "show", "dev", name});
}

class StateDir {
 public:
  StateDir() {
    char pattern[] = "/tmp/kvrun-nettest-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) throw_errno("mkdtemp");
    path_ = pattern;
  }
  ~StateDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

class VmNetworkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    container.emplace();
    // IPv6 on in the container, to see that global addresses are kept and link-local dropped.
    test::run_command(
        container->exec_argv({"sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
                              "net.ipv6.conf.default.disable_ipv6=0"}));
    test::add_veth(*container, "10.209.5.2/24", peer, "10.209.5.1/24");
    container->ip({"link", "set", "kvv0", "mtu", "1400"});
    peer.ip({"link", "set", "kvv1", "mtu", "1400"});
    container->ip({"addr", "add", "fd00:209:5::2/64", "dev", "kvv0", "nodad"});
    container->ip({"route", "add", "default", "via", "10.209.5.1"});
    container->ip({"route", "add", "10.209.99.0/24", "via", "10.209.5.1"});
    container->ip({"route", "add", "10.209.98.0/24", "dev", "kvv0"});
    mac = output_of("ip -n " + container->name() + " -br link show dev kvv0");
    // "kvv0@if2  UP  aa:bb:cc:dd:ee:ff <...>"
    auto colon = mac.find(':');
    ASSERT_NE(colon, std::string::npos) << mac;
    mac = mac.substr(colon - 2, 17);
  }

  std::string tc(const std::string& args) {
    return output_of("tc -n " + container->name() + " " + args);
  }

  std::optional<TestNetns> container;
  TestNetns peer;
  StateDir state;
  std::string mac;
};

TEST_F(VmNetworkTest, FindsTheUplinkAndMirrorsItToTheTap) {
  {
    VmNetwork network = VmNetwork::setup(container->path(), state.path());
    ASSERT_TRUE(network.uplink());
    const Uplink& uplink = *network.uplink();
    EXPECT_EQ(uplink.name, "kvv0");
    EXPECT_EQ(uplink.mac, mac);
    EXPECT_EQ(uplink.mtu, 1400u);
    EXPECT_EQ(uplink.addresses, (std::vector<std::string>{"10.209.5.2/24", "fd00:209:5::2/64"}));
    std::vector<std::string> routes;
    for (const Route& r : uplink.routes) routes.push_back(r.destination + " via " + r.gateway);
    // The kernel's prefix routes (10.209.5.0/24, fd00:209:5::/64, fe80::/64) are left out.
    std::sort(routes.begin(), routes.end());
    EXPECT_EQ(routes,
              (std::vector<std::string>{"10.209.98.0/24 via ", "10.209.99.0/24 via 10.209.5.1",
                                        "default via 10.209.5.1"}));

    std::string tap = output_of("ip -n " + container->name() + " link show dev kvtap0");
    EXPECT_NE(tap.find("mtu 1400"), std::string::npos) << tap;
    EXPECT_NE(tap.find(",UP"), std::string::npos) << tap;
    EXPECT_NE(tc("qdisc show dev kvv0").find("qdisc ingress ffff:"), std::string::npos);
    EXPECT_NE(tc("qdisc show dev kvtap0").find("qdisc ingress ffff:"), std::string::npos);
    std::string to_tap = tc("filter show dev kvv0 ingress");
    EXPECT_NE(to_tap.find("match 00000000/00000000 at 0"), std::string::npos) << to_tap;
    EXPECT_NE(to_tap.find("mirred (Egress Redirect to device kvtap0) stolen"), std::string::npos)
        << to_tap;
    EXPECT_NE(tc("filter show dev kvtap0 ingress").find("Egress Redirect to device kvv0"),
              std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(state.path() / "network.json"));
  }
  EXPECT_FALSE(link_exists(*container, "kvtap0"));
  EXPECT_EQ(tc("qdisc show dev kvv0").find("ingress"), std::string::npos);
  EXPECT_EQ(tc("filter show dev kvv0 ingress"), "");
  EXPECT_FALSE(std::filesystem::exists(state.path() / "network.json"));
  // The uplink itself is untouched.
  EXPECT_NE(output_of("ip -n " + container->name() + " addr show dev kvv0").find("10.209.5.2/24"),
            std::string::npos);
}

// What the VMM would do: attach to the tap. An ARP request for the peer written into the tap
// leaves through the veth, and the peer's answer comes back out of the tap.
TEST_F(VmNetworkTest, FramesCrossTheMirrorBothWays) {
  VmNetwork network = VmNetwork::setup(container->path(), state.path());
  UniqueFd tap;
  run_in_netns(container->path(), [&] {
    tap = UniqueFd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
    ifreq request{};
    std::strcpy(request.ifr_name, "kvtap0");
    request.ifr_flags = IFF_TAP | IFF_NO_PI;
    if (!tap || ::ioctl(tap.get(), TUNSETIFF, &request) != 0) throw_errno("attach kvtap0");
  });
  unsigned char own[6];
  ASSERT_EQ(std::sscanf(mac.c_str(), "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &own[0], &own[1], &own[2],
                        &own[3], &own[4], &own[5]),
            6);
  std::vector<unsigned char> arp(42, 0);
  std::memset(arp.data(), 0xff, 6);     // broadcast
  std::memcpy(arp.data() + 6, own, 6);  // from the uplink's MAC, as the guest will be
  arp[12] = 0x08, arp[13] = 0x06;       // ARP
  const unsigned char header[] = {0, 1, 8, 0, 6, 4, 0, 1};  // Ethernet/IPv4, request
  std::memcpy(arp.data() + 14, header, sizeof header);
  std::memcpy(arp.data() + 22, own, 6);
  const unsigned char sender[] = {10, 209, 5, 2}, target[] = {10, 209, 5, 1};
  std::memcpy(arp.data() + 28, sender, 4);
  std::memcpy(arp.data() + 38, target, 4);

  bool answered = false;
  for (int attempt = 0; attempt < 3 && !answered; ++attempt) {
    ASSERT_EQ(::write(tap.get(), arp.data(), arp.size()), static_cast<ssize_t>(arp.size()));
    pollfd fd{tap.get(), POLLIN, 0};
    while (!answered && ::poll(&fd, 1, 1000) == 1) {
      unsigned char frame[2048];
      ssize_t n = ::read(tap.get(), frame, sizeof frame);
      // An ARP reply (opcode 2) to us from 10.209.5.1; IPv6 chatter may come first.
      if (n >= 42 && frame[12] == 0x08 && frame[13] == 0x06 && frame[21] == 2 &&
          std::memcmp(frame, own, 6) == 0 && std::memcmp(frame + 28, target, 4) == 0)
        answered = true;
    }
  }
  EXPECT_TRUE(answered) << "no ARP reply from the peer came out of the tap";
}

TEST_F(VmNetworkTest, DeleteUndoesTheRecordEvenIfTheOwnerCouldNot) {
  VmNetwork network = VmNetwork::setup(container->path(), state.path());
  remove_recorded_network(state.path());
  EXPECT_FALSE(link_exists(*container, "kvtap0"));
  EXPECT_EQ(tc("qdisc show dev kvv0").find("ingress"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(state.path() / "network.json"));
  // Nothing recorded: nothing to do.
  EXPECT_NO_THROW(remove_recorded_network(state.path()));
}  // ~VmNetwork finds nothing left and does not complain

TEST_F(VmNetworkTest, ANamespaceAlreadyGoneIsNotAnError) {
  std::optional<VmNetwork> network;
  network.emplace(VmNetwork::setup(container->path(), state.path()));
  auto path = container->path();
  container.reset();  // CNI tore it down first
  EXPECT_TRUE(netns_gone(path));
  EXPECT_NO_THROW(remove_recorded_network(state.path()));
  EXPECT_NO_THROW(network.reset());
  EXPECT_FALSE(std::filesystem::exists(state.path() / "network.json"));
}

TEST_F(VmNetworkTest, AnExistingTapIsRefusedAndLeftAlone) {
  container->ip({"tuntap", "add", "mode", "tap", "name", "kvtap0"});
  try {
    VmNetwork::setup(container->path(), state.path());
    ADD_FAILURE() << "set up over an existing tap";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tap kvtap0 already exists"), std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(link_exists(*container, "kvtap0"));
  EXPECT_EQ(tc("qdisc show dev kvv0").find("ingress"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(state.path() / "network.json"));
}

// A failure half-way (here: the uplink already has an ingress qdisc, someone else's) removes the
// tap and its qdisc again and leaves the other qdisc alone.
TEST_F(VmNetworkTest, AFailedSetUpLeavesNothingOfOurs) {
  test::run_command({"tc", "-n", container->name(), "qdisc", "add", "dev", "kvv0", "ingress"});
  try {
    VmNetwork::setup(container->path(), state.path());
    ADD_FAILURE() << "set up over an existing ingress qdisc";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tc: ingress qdisc on kvv0"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(link_exists(*container, "kvtap0"));
  EXPECT_NE(tc("qdisc show dev kvv0").find("ingress"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(state.path() / "network.json"));
}

TEST(VmNetworkLoopback, NoInterfaceWithAnAddressMeansLoopbackOnly) {
  TestNetns empty;
  // Up but without an address: not an uplink.
  empty.ip({"link", "add", "kvd0", "type", "veth", "peer", "name", "kvd1"});
  empty.ip({"link", "set", "kvd0", "up"});
  empty.ip({"link", "set", "kvd1", "up"});
  StateDir state;
  {
    VmNetwork network = VmNetwork::setup(empty.path(), state.path());
    EXPECT_FALSE(network.uplink());
    EXPECT_FALSE(link_exists(empty, "kvtap0"));
    EXPECT_FALSE(std::filesystem::exists(state.path() / "network.json"));
  }
}

TEST(VmNetworkErrors, AMissingNamespaceIsNamed) {
  StateDir state;
  try {
    VmNetwork::setup("/run/netns/kvrun-no-such-ns", state.path());
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "network namespace /run/netns/kvrun-no-such-ns: No such file or directory");
  }
}

}  // namespace
}  // namespace kvrun::network
