// virtio-net end to end (label `linux`, needs root and /dev/kvm): a guest on a tap that lives
// in a network namespace this test creates pings the namespace and moves data both ways over
// TCP; SHA-256 on both sides proves every byte arrived.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <regex>
#include <string>

#include "tests/unit/net/netns_fixture.h"
#include "tests/unit/net/tcp_peer.h"
#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kBytes = 4 << 20;

TEST(VirtioNet, PingAndTcpBothWaysToATapInANamespace) {
  std::string kernel;
  KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel);

  TestNetns ns;
  ns.add_tap("kvt0", "10.209.1.1/24");
  UniqueFd from_guest = listen_tcp(ns, "10.209.1.1", 5001);
  UniqueFd to_guest = listen_tcp(ns, "10.209.1.1", 5002);
  const std::string host_data = random_bytes(kBytes);

  // The guest sends first, then receives; both peers wait on their own thread.
  auto received =
      std::async(std::launch::async, [&] { return receive_bytes(from_guest.get(), kBytes, 150s); });
  auto sent = std::async(std::launch::async,
                         [&] { return send_bytes(to_guest.get(), host_data, kBytes, 150s); });

  const auto start = std::chrono::steady_clock::now();
  ChildProcess vm = run_vmm(
      {"--kernel", kernel, "--initrd", KVRUN_NET_INITRAMFS, "--cmdline",
       "console=ttyS0 reboot=k kvrun.addr=10.209.1.2/24 kvrun.peer=10.209.1.1 kvrun.bytes=" +
           std::to_string(kBytes),
       "--memory", "256", "--timeout", "150", "--net",
       "tap=kvt0,netns=" + ns.path().string() + ",mac=02:00:0a:d1:01:02"},
      170s);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(exited_with(vm, 0));
  const std::string serial = serial_text(vm);
  EXPECT_TRUE(stdout_has(vm, "kvrun-net: eth0 02:00:0a:d1:01:02"));
  // The guest's view of the negotiated features (bit 0 first): checksum and TSO offloads both
  // ways, since the tap supports them; MAC and STATUS; no merged RX buffers.
  std::smatch features;
  ASSERT_TRUE(std::regex_search(serial, features, std::regex("features ([01]{64})")))
      << transcript(vm);
  for (int bit : {0, 1, 5, 7, 8, 11, 12, 16, 32})
    EXPECT_EQ(features[1].str()[bit], '1') << "feature bit " << bit << transcript(vm);
  EXPECT_EQ(features[1].str()[15], '0') << "MRG_RXBUF is not offered";
  EXPECT_TRUE(stdout_has(vm, "3 packets transmitted, 3 packets received, 0% packet loss"));

  const Transfer in = received.get();
  const Transfer out = sent.get();
  ASSERT_EQ(in.bytes, kBytes);
  EXPECT_TRUE(stdout_has(vm, "kvrun-net: sent " + sha256_hex(in.data)));
  EXPECT_TRUE(stdout_has(
      vm, "kvrun-net: received " + std::to_string(kBytes) + " bytes " + sha256_hex(host_data)));

  // For the record (nested numbers are functional, not speed claims).
  std::smatch rtt;
  if (std::regex_search(serial, rtt, std::regex("round-trip min/avg/max = ([0-9./]+) ms")))
    RecordProperty("ping_rtt_ms", rtt[1].str());
  const auto ms = [](auto d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  std::printf(
      "virtio-net: ping rtt min/avg/max %s ms; guest->host %.1f MB/s, host->guest %.1f "
      "MB/s; VM run %lld ms\n",
      rtt.empty() ? "?" : rtt[1].str().c_str(), in.bytes / 1e6 / (ms(in.elapsed) / 1e3),
      out.bytes / 1e6 / (ms(out.elapsed) / 1e3), static_cast<long long>(ms(elapsed)));
}

}  // namespace
}  // namespace kvrun::test
