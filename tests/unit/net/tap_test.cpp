// Needs root (label `root`): real taps inside network namespaces this test creates.
#include "vmm/devices/virtio/net/tap.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"
#include "tests/unit/net/netns_fixture.h"
#include "vmm/devices/virtio/net/net_defs.h"
#include "common/netns.h"

namespace kvrun::vmm::net {
namespace {

using kvrun::test::command_succeeds;
using kvrun::test::TestNetns;

constexpr std::array<uint8_t, 6> kGuestMac{0x02, 0x00, 0x00, 0x00, 0x00, 0x02};

struct Packet {
  NetHeader header{};
  std::vector<uint8_t> frame;
};

// Reads frames from the tap until `match` accepts one or `wait` passes.
std::optional<Packet> read_until(const Tap& tap, const std::function<bool(const Packet&)>& match,
                                 std::chrono::milliseconds wait = std::chrono::seconds(2)) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::vector<uint8_t> buffer(kNetHeaderBytes + kMaxFrameBytes);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{tap.fd(), POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    const ssize_t n = ::read(tap.fd(), buffer.data(), buffer.size());
    if (n < static_cast<ssize_t>(kNetHeaderBytes)) continue;
    Packet packet;
    std::memcpy(&packet.header, buffer.data(), kNetHeaderBytes);
    packet.frame.assign(buffer.begin() + kNetHeaderBytes, buffer.begin() + n);
    if (match(packet)) return packet;
  }
  return std::nullopt;
}

// `send` until a frame `match` accepts comes back: right after a tap is attached its carrier
// comes up asynchronously (linkwatch, up to a second), and until then the namespace's
// replies are dropped, so like any peer we retry.
std::optional<Packet> exchange(const Tap& tap, const std::function<void()>& send,
                               const std::function<bool(const Packet&)>& match) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    send();
    if (auto packet = read_until(tap, match, std::chrono::milliseconds(300))) return packet;
  }
  return std::nullopt;
}

uint16_t ethertype(const Packet& p) {
  return p.frame.size() < 14 ? 0 : static_cast<uint16_t>(p.frame[12] << 8 | p.frame[13]);
}

// An ARP request "who has 10.209.9.1? tell 10.209.9.2" from kGuestMac, padded to 60 bytes.
std::vector<uint8_t> arp_request() {
  std::vector<uint8_t> f(60, 0);
  std::fill(f.begin(), f.begin() + 6, 0xff);
  std::copy(kGuestMac.begin(), kGuestMac.end(), f.begin() + 6);
  f[12] = 0x08, f[13] = 0x06;                              // ARP
  f[14] = 0x00, f[15] = 0x01, f[16] = 0x08, f[17] = 0x00;  // Ethernet, IPv4
  f[18] = 6, f[19] = 4, f[20] = 0x00, f[21] = 0x01;        // sizes, request
  std::copy(kGuestMac.begin(), kGuestMac.end(), f.begin() + 22);
  const std::array<uint8_t, 4> sender{10, 209, 9, 2}, target{10, 209, 9, 1};
  std::copy(sender.begin(), sender.end(), f.begin() + 28);
  std::copy(target.begin(), target.end(), f.begin() + 38);
  return f;
}

bool tap_exists_in(const TestNetns& ns, const std::string& name) {
  return command_succeeds({"ip", "-n", ns.name(), "link", "show", "dev", name});
}

std::string netns_of_this_thread() {
  return std::filesystem::read_symlink("/proc/thread-self/ns/net").string();
}

TEST(TapTest, AttachesToATapInAnotherNamespaceAndExchangesFrames) {
  TestNetns ns;
  ns.add_tap("kvt0", "10.209.9.1/24");
  const std::string own_netns = netns_of_this_thread();

  Tap tap = Tap::open("kvt0", ns.path());
  EXPECT_FALSE(tap.created());
  EXPECT_EQ(netns_of_this_thread(), own_netns);
  EXPECT_EQ(::if_nametoindex("kvt0"), 0u) << "the tap must not appear in our own namespace";

  // Header + frame in, the namespace's kernel answers the ARP request with header + frame out.
  NetHeader header{};
  std::vector<uint8_t> request = arp_request();
  std::array<iovec, 2> iov{{{&header, sizeof(header)}, {request.data(), request.size()}}};
  const auto send = [&] {
    ASSERT_EQ(::writev(tap.fd(), iov.data(), 2), static_cast<ssize_t>(12 + request.size()));
  };
  std::optional<Packet> reply = exchange(tap, send, [](const Packet& p) {
    return ethertype(p) == 0x0806 && p.frame.size() >= 42 && p.frame[21] == 2;
  });
  ASSERT_TRUE(reply) << "no ARP reply from 10.209.9.1";
  EXPECT_TRUE(std::equal(kGuestMac.begin(), kGuestMac.end(), reply->frame.begin()));
  EXPECT_EQ(reply->header.gso_type, kGsoNone);
  const std::array<uint8_t, 4> sender{10, 209, 9, 1};
  EXPECT_TRUE(std::equal(sender.begin(), sender.end(), reply->frame.begin() + 28));
}

TEST(TapTest, ChecksumOffloadReachesUsOnlyOnceEnabled) {
  TestNetns ns;
  ns.add_tap("kvt0", "10.209.9.1/24");
  ns.ip({"neigh", "add", "10.209.9.2", "lladdr", "02:00:00:00:00:02", "dev", "kvt0"});
  Tap tap = Tap::open("kvt0", ns.path());
  ASSERT_TRUE(tap.supported_offloads() & TUN_F_CSUM);

  UniqueFd udp;
  run_in_netns(ns.path(), [&] { udp.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)); });
  ASSERT_TRUE(udp.valid());
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9999);
  ::inet_pton(AF_INET, "10.209.9.2", &to.sin_addr);
  const auto send_and_capture = [&] {
    const char payload[] = "kvrun";
    const auto send = [&] {
      EXPECT_EQ(::sendto(udp.get(), payload, sizeof(payload), 0,
                         reinterpret_cast<const sockaddr*>(&to), sizeof(to)),
                static_cast<ssize_t>(sizeof(payload)));
    };
    return exchange(tap, send, [](const Packet& p) {
      return ethertype(p) == 0x0800 && p.frame.size() >= 38 && p.frame[23] == IPPROTO_UDP &&
             p.frame[36] == 9999 >> 8 && p.frame[37] == (9999 & 0xff);
    });
  };

  std::optional<Packet> plain = send_and_capture();
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->header.flags & kHeaderNeedsCsum, 0);

  tap.set_offloads(TUN_F_CSUM);
  std::optional<Packet> partial = send_and_capture();
  ASSERT_TRUE(partial);
  EXPECT_EQ(partial->header.flags & kHeaderNeedsCsum, kHeaderNeedsCsum);
  EXPECT_EQ(partial->header.csum_start, 14 + 20);  // Ethernet + IPv4: the UDP header
  EXPECT_EQ(partial->header.csum_offset, 6);       // UDP checksum field
}

TEST(TapTest, ProbeFindsChecksumAndSegmentationOffloads) {
  TestNetns ns;
  ns.add_tap("kvt0", "10.209.9.1/24");
  Tap tap = Tap::open("kvt0", ns.path());
  EXPECT_EQ(tap.supported_offloads() & (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6),
            unsigned{TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6});
}

TEST(TapTest, MissingTapIsCreatedAndGoesAwayWithUs) {
  TestNetns ns;
  {
    Tap tap = Tap::open("kvt7", ns.path());
    EXPECT_TRUE(tap.created());
    EXPECT_TRUE(tap_exists_in(ns, "kvt7"));
  }
  EXPECT_FALSE(tap_exists_in(ns, "kvt7"));
}

TEST(TapTest, CallersTapStaysAfterWeClose) {
  TestNetns ns;
  ns.add_tap("kvt0", "10.209.9.1/24");
  { Tap tap = Tap::open("kvt0", ns.path()); }
  EXPECT_TRUE(tap_exists_in(ns, "kvt0"));
}

TEST(TapTest, TapInUseByAnotherFdIsRefused) {
  TestNetns ns;
  ns.add_tap("kvt0", "10.209.9.1/24");
  Tap first = Tap::open("kvt0", ns.path());
  try {
    Tap::open("kvt0", ns.path());
    FAIL() << "a second open succeeded";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tap kvt0: already attached to another process");
  }
}

TEST(TapTest, DeviceThatIsNotATapIsRefused) {
  TestNetns ns;
  ns.ip({"link", "add", "kvd0", "type", "veth", "peer", "name", "kvd1"});
  try {
    Tap::open("kvd0", ns.path());
    FAIL() << "opened a veth device as a tap";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tap kvd0: exists but is not a single-queue tap device");
  }
}

TEST(TapTest, BadNamespacePathsAreNamedInTheError) {
  try {
    Tap::open("kvt0", std::filesystem::path("/run/netns/kvt-no-such-namespace"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "network namespace /run/netns/kvt-no-such-namespace: No such file or directory");
  }
  try {
    Tap::open("kvt0", std::filesystem::path("/proc/self/ns/uts"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "network namespace /proc/self/ns/uts: not a network namespace");
  }
}

}  // namespace
}  // namespace kvrun::vmm::net
