// podman's default network (the CNI bridge cni-podman0 on 10.88.0.0/16, with ipMasq, firewall
// and portmap) reaching containers that run in microVMs: kvrun mirrors the veth CNI put in
// the container's network namespace to the VM's tap (docs/networking.md). Asserted: the guest
// has the address podman reports, one VM container reaches another over the bridge, a
// published port reaches a server in a VM from the host, and nothing is left afterwards.
#include <chrono>
#include <thread>

#include "podman_fixture.h"

namespace kvrun::e2e {
namespace {

constexpr const char* kBridge = "cni-podman0";
constexpr const char* kHostPort = "18080";

// The server in the VM needs its guest to boot first: poll until it answers. (No `wget -T`:
// Debian's busybox 1.35 wget crashes with it.)
Result fetch_within(const std::string& url, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    Result r = run_command({"/bin/busybox", "wget", "-q", "-O", "-", url}, 30);
    if (r.status == 0 || std::chrono::steady_clock::now() >= deadline) return r;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

TEST_F(PodmanTest, DefaultNetworkConnectsVmsAndPublishesPorts) {
  Result started = podman(run_args({"-d", "--name", "web", "-p", std::string(kHostPort) + ":80"},
                                   {"sh", "-c",
                                    "mkdir /www && echo served-from-the-vm > /www/index.html && "
                                    "exec httpd -f -p 80 -h /www"},
                                   Network::kDefault));
  ASSERT_EQ(started.status, 0) << started.err;
  // The address the guest configured from the veth CNI made (podman inspect wants the
  // container's cgroup on this host, which a VM's monitor does not have everywhere).
  Result address = podman({"exec", "web", "sh", "-c", "ip -o -4 addr show eth0"});
  ASSERT_EQ(address.status, 0) << address.err;
  auto at = address.out.find("inet ");
  ASSERT_NE(at, std::string::npos) << address.out;
  std::string web_ip = address.out.substr(at + 5, address.out.find('/', at) - at - 5);
  ASSERT_EQ(web_ip.rfind("10.88.", 0), 0u) << "not on podman's default network: " << address.out;

  // Host -> published port -> portmap DNAT -> bridge -> veth -> mirred -> tap -> guest.
  Result published =
      fetch_within(std::string("http://127.0.0.1:") + kHostPort + "/", std::chrono::seconds(120));
  EXPECT_EQ(published.status, 0) << published.err;
  EXPECT_EQ(published.out, "served-from-the-vm\n");

  // A second VM on the same bridge: its own address and routes, and the first VM's server.
  Result client = podman(run_args(
      {"--rm"},
      {"sh", "-c", "ip -o -4 addr show eth0; ip route; wget -q -O - http://" + web_ip + "/"},
      Network::kDefault));
  EXPECT_EQ(client.status, 0) << client.err;
  EXPECT_NE(client.out.find("inet 10.88."), std::string::npos) << client.out;
  EXPECT_NE(client.out.find("default via 10.88.0.1 dev eth0"), std::string::npos) << client.out;
  EXPECT_NE(client.out.find("served-from-the-vm\n"), std::string::npos) << client.out;

  Result removed = podman({"rm", "--force", "--time", "0", "web"});
  EXPECT_EQ(removed.status, 0) << removed.err;
  expect_nothing_left();
  // CNI took the containers' veths (and with their namespaces our taps and qdiscs) away.
  Result ports = run_command({"/usr/sbin/ip", "-o", "link", "show", "master", kBridge}, 30);
  EXPECT_EQ(ports.out, "") << "interfaces still on " << kBridge;
  EXPECT_EQ(
      fetch_within(std::string("http://127.0.0.1:") + kHostPort + "/", std::chrono::seconds(0))
          .status,
      1)
      << "the published port still answers";
}

}  // namespace
}  // namespace kvrun::e2e
