// Needs root (label `root`): the namespace fixture and the TCP peer that the virtio-net VM
// test and bench/io build on, over a veth pair between two test namespaces.
#include "tests/unit/net/netns_fixture.h"

#include <gtest/gtest.h>

#include <future>
#include <string>

#include "tests/unit/net/tcp_peer.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

TEST(NetnsFixtureTest, NamespaceIsGoneAfterTheFixture) {
  std::string name;
  {
    TestNetns ns;
    name = ns.name();
    EXPECT_TRUE(command_succeeds({"ip", "-n", name, "link", "show", "lo"}));
  }
  EXPECT_FALSE(command_succeeds({"ip", "-n", name, "link", "show", "lo"}));
}

TEST(NetnsFixtureTest, TcpTransferOverVethArrivesIntact) {
  TestNetns a;
  TestNetns b;
  add_veth(a, "10.209.2.1/24", b, "10.209.2.2/24");
  UniqueFd listener = listen_tcp(b, "10.209.2.2", 5001);
  const std::string data = random_bytes(1 << 20);

  auto received = std::async(std::launch::async,
                             [&] { return receive_bytes(listener.get(), data.size(), 10s); });
  Transfer sent = connect_and_send(a, "10.209.2.2", 5001, data, data.size(), 10s);
  Transfer got = received.get();
  EXPECT_EQ(sent.bytes, data.size());
  ASSERT_EQ(got.bytes, data.size());
  EXPECT_EQ(sha256_hex(got.data), sha256_hex(data));
  EXPECT_TRUE(got.data == data);
}

TEST(NetnsFixtureTest, Sha256MatchesAKnownValue) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace kvrun::test
