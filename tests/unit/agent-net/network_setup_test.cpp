// The agent's rtnetlink code on real links: a veth pair inside a throwaway network namespace
// (tests/unit/net/netns_fixture.h), configured by apply_network from a thread that entered it,
// then checked with iproute2's JSON output. Needs root; never touches the host's links.
#include "agent/net/network_setup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/net/links.h"
#include "common/unique_fd.h"
#include "tests/unit/net/netns_fixture.h"

namespace kvrun::agent::net {
namespace {

using test::TestNetns;

constexpr const char* kMac = "02:00:0a:d1:07:02";

// Runs fn in a thread that has entered the namespace; returns fn's error text, "" on success.
std::string in_netns(const TestNetns& netns, const std::function<void()>& fn) {
  std::string error;
  std::thread thread([&] {
    UniqueFd fd(::open(netns.path().c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd || ::setns(fd.get(), CLONE_NEWNET) != 0) {
      error = "cannot enter " + netns.name();
      return;
    }
    try {
      fn();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  thread.join();
  return error;
}

std::string output_of(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

nlohmann::json ip_json(const TestNetns& netns, const std::string& args) {
  // A missing device prints nothing on stdout: no such link.
  std::string out = output_of("ip -j -n " + netns.name() + " " + args + " 2>/dev/null");
  return out.empty() ? nlohmann::json::array() : nlohmann::json::parse(out);
}

// The fixture turns IPv6 off; these tests want it.
void enable_ipv6(const TestNetns& netns) {
  test::run_command(netns.exec_argv({"sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
                                     "net.ipv6.conf.default.disable_ipv6=0"}));
}

class NetworkSetupAsRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    netns_.emplace();
    enable_ipv6(*netns_);
    // Both ends here: kvv0 plays the guest's virtio-net link (down, unconfigured, found by MAC).
    netns_->ip({"link", "add", "kvv0", "address", kMac, "type", "veth", "peer", "name", "kvv1"});
  }

  nlohmann::json link(const std::string& name) {
    auto links = ip_json(*netns_, "addr show dev " + name);
    return links.empty() ? nlohmann::json() : links[0];
  }

  protocol::ConfigureNetwork request() {
    protocol::ConfigureNetwork r;
    r.interfaces.push_back({kMac, "eth0", 1400, {"10.209.7.2/24", "fd00:209::2/64"}});
    r.routes.push_back({"default", "10.209.7.1", std::nullopt});
    r.routes.push_back({"10.209.8.0/24", std::nullopt, "eth0"});
    r.routes.push_back({"10.209.9.0/24", "10.209.7.254", "eth0"});
    r.routes.push_back({"fd00:20a::/64", "fd00:209::1", std::nullopt});
    return r;
  }

  std::optional<TestNetns> netns_;
};

TEST_F(NetworkSetupAsRoot, ConfiguresNameMtuAddressesAndRoutes) {
  ASSERT_EQ(in_netns(*netns_, [&] { apply_network(request(), -1); }), "");
  auto eth0 = link("eth0");
  ASSERT_FALSE(eth0.is_null()) << "kvv0 was not renamed";
  EXPECT_EQ(eth0["address"], kMac);
  EXPECT_EQ(eth0["mtu"], 1400);
  auto flags = eth0["flags"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(flags.begin(), flags.end(), "UP"), flags.end());
  std::vector<std::string> addresses;
  for (const auto& address : eth0["addr_info"]) {
    if (address["scope"] == "link") continue;  // the kernel's own fe80::
    addresses.push_back(address["local"].get<std::string>() + "/" +
                        std::to_string(address["prefixlen"].get<int>()));
    if (address["family"] == "inet") {
      EXPECT_EQ(address["broadcast"], "10.209.7.255");
    } else {
      EXPECT_FALSE(address.value("tentative", false)) << "duplicate address detection ran";
    }
  }
  EXPECT_EQ(addresses, (std::vector<std::string>{"10.209.7.2/24", "fd00:209::2/64"}));
  auto lo_flags = link("lo")["flags"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(lo_flags.begin(), lo_flags.end(), "UP"), lo_flags.end());

  auto routes = ip_json(*netns_, "route show");
  auto has_route = [&](const std::string& dst, const std::string& gateway) {
    for (const auto& route : routes) {
      if (route["dst"] == dst && route["dev"] == "eth0" && route.value("gateway", "") == gateway)
        return true;
    }
    return false;
  };
  EXPECT_TRUE(has_route("default", "10.209.7.1")) << routes.dump();
  EXPECT_TRUE(has_route("10.209.8.0/24", "")) << routes.dump();
  EXPECT_TRUE(has_route("10.209.9.0/24", "10.209.7.254")) << routes.dump();
  auto routes6 = ip_json(*netns_, "-6 route show");
  bool has_v6 = false;
  for (const auto& route : routes6) {
    has_v6 |= route["dst"] == "fd00:20a::/64" && route.value("gateway", "") == "fd00:209::1";
  }
  EXPECT_TRUE(has_v6) << routes6.dump();
  // The route without a gateway is on-link.
  auto on_link = ip_json(*netns_, "route show 10.209.8.0/24");
  ASSERT_EQ(on_link.size(), 1u);
  EXPECT_EQ(on_link[0]["scope"], "link");
}

TEST_F(NetworkSetupAsRoot, KernelRefusalsNameTheItem) {
  auto r = request();
  r.interfaces[0].addresses = {"10.209.7.2/24", "10.209.7.2/24"};
  r.routes.clear();
  // The kernel's extended message, when it gives one, follows in parentheses.
  std::string error = in_netns(*netns_, [&] { apply_network(r, -1); });
  EXPECT_EQ(error.rfind("interfaces[0].addresses[1] 10.209.7.2/24: File exists", 0), 0u) << error;

  r = request();
  r.interfaces[0].mac = "02:00:0a:d1:07:09";
  EXPECT_EQ(in_netns(*netns_, [&] { apply_network(r, -1); }),
            "interfaces[0].mac 02:00:0a:d1:07:09: no link has this MAC address");

  r = request();
  r.interfaces[0].name = "kvv1";  // the peer's name
  EXPECT_EQ(in_netns(*netns_, [&] { apply_network(r, -1); }),
            "interfaces[0].name kvv1: File exists");

  r = request();
  r.interfaces[0].name = std::nullopt;
  r.interfaces[0].addresses.clear();
  r.routes = {{"default", "10.9.0.1", std::nullopt}};
  error = in_netns(*netns_, [&] { apply_network(r, -1); });
  EXPECT_EQ(error.rfind("routes[0] default via 10.9.0.1: Network is unreachable", 0), 0u) << error;

  r.routes = {{"10.209.10.0/24", std::nullopt, "nope0"}};
  EXPECT_EQ(in_netns(*netns_, [&] { apply_network(r, -1); }),
            "routes[0].device nope0: no such link");
}

TEST_F(NetworkSetupAsRoot, MovesTheLinksIntoThePodNamespace) {
  TestNetns pod;
  enable_ipv6(pod);
  UniqueFd pod_fd(::open(pod.path().c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(pod_fd);
  auto r = request();
  r.routes.resize(1);
  ASSERT_EQ(in_netns(*netns_, [&] { apply_network(r, pod_fd.get()); }), "");
  EXPECT_TRUE(link("kvv0").is_null());
  EXPECT_TRUE(link("eth0").is_null());
  auto moved = ip_json(pod, "addr show dev eth0");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0]["address"], kMac);
  EXPECT_EQ(moved[0]["addr_info"][0]["local"], "10.209.7.2");
  auto routes = ip_json(pod, "route show default");
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0]["gateway"], "10.209.7.1");
}

TEST_F(NetworkSetupAsRoot, NothingLeaks) {
  std::string name = netns_->name();
  std::size_t fds_before = 0, fds_after = 0;
  struct stat own_before {
  }, own_after{};
  ASSERT_EQ(in_netns(*netns_,
                     [&] {
                       TestNetns pod;
                       enable_ipv6(pod);
                       UniqueFd pod_fd(::open(pod.path().c_str(), O_RDONLY | O_CLOEXEC));
                       ::stat("/proc/thread-self/ns/net", &own_before);
                       for (auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
                         (void)entry;
                         ++fds_before;
                       }
                       apply_network(request(), pod_fd.get());
                       ::stat("/proc/thread-self/ns/net", &own_after);
                       for (auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
                         (void)entry;
                         ++fds_after;
                       }
                     }),
            "");
  EXPECT_EQ(fds_after, fds_before) << "netlink sockets or namespace fds left open";
  EXPECT_EQ(own_after.st_ino, own_before.st_ino) << "the thread was left in the pod's namespace";
  netns_.reset();
  EXPECT_FALSE(std::filesystem::exists("/run/netns/" + name));
}

}  // namespace
}  // namespace kvrun::agent::net
