// Who may talk to the agent (issue 16, hole 6): on vsock only the host, CID 2. A container that
// reaches the agent's port (a loopback transport, a relaying host) must not be served. The
// decision is a pure function of accept4's address; the server is checked with a listener of a
// family the agent never serves (TCP on 127.0.0.1), since this host has no vsock loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "agent/engine.h"
#include "agent/event_loop.h"
#include "agent/listen_address.h"
#include "agent/server.h"
#include "agent_harness.h"
#include "common/error.h"
#include "protocol/framing.h"

namespace kvrun::agent {
namespace {

bool accepts_vsock(unsigned int cid) {
  sockaddr_vm peer{};
  peer.svm_family = AF_VSOCK;
  peer.svm_cid = cid;
  peer.svm_port = 1024;
  return accepts_peer(reinterpret_cast<const sockaddr*>(&peer), sizeof peer);
}

TEST(HostileAgentPeers, OnlyTheHostMayConnectOverVsock) {
  EXPECT_TRUE(accepts_vsock(VMADDR_CID_HOST));
  EXPECT_FALSE(accepts_vsock(VMADDR_CID_HYPERVISOR));  // 0
  EXPECT_FALSE(accepts_vsock(VMADDR_CID_LOCAL));       // 1: the loopback transport
  EXPECT_FALSE(accepts_vsock(3));                      // the guest itself, or another VM
  EXPECT_FALSE(accepts_vsock(4));
  EXPECT_FALSE(accepts_vsock(VMADDR_CID_ANY));
}

TEST(HostileAgentPeers, UnknownFamiliesAndShortAddressesAreRefused) {
  sockaddr_vm vm{};
  vm.svm_family = AF_VSOCK;
  vm.svm_cid = VMADDR_CID_HOST;
  // Too short to hold the CID: never read past what accept4 wrote.
  EXPECT_FALSE(accepts_peer(reinterpret_cast<const sockaddr*>(&vm), sizeof vm - 1));
  EXPECT_FALSE(accepts_peer(nullptr, 0));
  sockaddr_in inet{};
  inet.sin_family = AF_INET;
  EXPECT_FALSE(accepts_peer(reinterpret_cast<const sockaddr*>(&inet), sizeof inet));
  // A unix client (host mode, tests) is unnamed: only the family is filled in.
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  EXPECT_TRUE(accepts_peer(reinterpret_cast<const sockaddr*>(&un), sizeof(sa_family_t)));
}

class HostileAgentPeersServer : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(tcp_);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(tcp_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    ASSERT_EQ(::listen(tcp_.get(), 8), 0);
    socklen_t length = sizeof address_;
    ASSERT_EQ(::getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(&address_), &length), 0);
  }

  UniqueFd connect_tcp() const {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw_errno("socket");
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address_), sizeof address_) != 0) {
      throw_errno("connect");
    }
    return fd;
  }

  test::TempDir dir_;
  EventLoop loop_;
  Engine engine_{loop_,
                 EngineConfig{CgroupConfig{dir_.path() / "no-cgroup", CgroupMode::kBestEffort},
                              dir_.path() / "state"}};
  UniqueFd tcp_;
  sockaddr_in address_{};
};

// Without the peer check the server would answer this Ping like any other.
TEST_F(HostileAgentPeersServer, RefusedPeerIsClosedUnreadAndTheServerGoesOn) {
  Server server(loop_, engine_, std::move(tcp_));
  for (int round = 0; round < 3; ++round) {
    UniqueFd client = connect_tcp();
    protocol::write_frame(client.get(), R"({"version":2,"id":1,"type":"Ping","body":{}})");
    char byte;
    ssize_t n = -1;
    for (int i = 0; i < 50; ++i) {
      loop_.run_once(20);
      pollfd pfd{client.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 0) == 1) {
        n = ::recv(client.get(), &byte, 1, MSG_DONTWAIT);
        break;
      }
    }
    // Closed without a reply: end-of-file, or a reset because the Ping was never read.
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << "round " << round << ": n=" << n;
  }
}

}  // namespace
}  // namespace kvrun::agent
