#include "vmm/devices/virtio/vsock/credit.h"

#include <gtest/gtest.h>

namespace kvrun::vmm::vsock {
namespace {

TEST(VsockCredit, PeerFreeIsItsBufferMinusWhatIsInFlight) {
  Credit c(4096);
  EXPECT_EQ(c.peer_free(), 0u) << "no credit before the guest has advertised a buffer";
  c.on_peer_header(1000, 0);
  EXPECT_EQ(c.peer_free(), 1000u);
  c.on_sent(600);
  EXPECT_EQ(c.peer_free(), 400u);
  c.on_sent(400);
  EXPECT_EQ(c.peer_free(), 0u);
  c.on_peer_header(1000, 700);  // the guest consumed 700
  EXPECT_EQ(c.peer_free(), 700u);
}

TEST(VsockCredit, CountersWrapLikeTheWire) {
  Credit c(4096);
  c.on_peer_header(1000, 0xfffffff0u);
  // Catch our tx counter up to the guest's fwd_cnt near the wrap point.
  c.on_sent(0xfffffff0u);
  EXPECT_EQ(c.peer_free(), 1000u);
  c.on_sent(100);  // wraps
  EXPECT_EQ(c.peer_free(), 900u);
  c.on_peer_header(1000, 0xfffffff0u + 100u);
  EXPECT_EQ(c.peer_free(), 1000u);
}

TEST(VsockCredit, LyingPeerOnlyGetsNoCredit) {
  Credit c(4096);
  c.on_sent(10);
  c.on_peer_header(1000, 50);  // claims to have consumed more than we sent
  EXPECT_EQ(c.peer_free(), 0u);
  c.on_peer_header(5, 0);  // shrank below what is in flight
  EXPECT_EQ(c.peer_free(), 0u);
}

TEST(VsockCredit, ReceiveWithinOurBufferOnly) {
  Credit c(1000);
  EXPECT_TRUE(c.may_receive(1000));
  EXPECT_FALSE(c.may_receive(1001));
  c.on_received(800);
  EXPECT_EQ(c.buffered(), 800u);
  EXPECT_TRUE(c.may_receive(200));
  EXPECT_FALSE(c.may_receive(201));
  c.on_forwarded(500);
  EXPECT_EQ(c.fwd_cnt(), 500u);
  EXPECT_TRUE(c.may_receive(700));
}

TEST(VsockCredit, StarvedWhenTheGuestThinksItsCreditIsLowAndWeFreedSome) {
  Credit c(1000);
  c.on_received(300);
  c.on_forwarded(300);
  EXPECT_FALSE(c.guest_likely_starved()) << "the guest still sees 700 free";
  c.on_advertised();
  c.on_received(700);
  EXPECT_FALSE(c.guest_likely_starved()) << "nothing freed since the last advertisement";
  c.on_forwarded(700);
  EXPECT_TRUE(c.guest_likely_starved()) << "the guest sees 300 free, 1000 are";
  c.on_advertised();
  EXPECT_FALSE(c.guest_likely_starved());
}

}  // namespace
}  // namespace kvrun::vmm::vsock
