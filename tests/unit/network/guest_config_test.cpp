#include "shim/network/guest_config.h"

#include <gtest/gtest.h>

namespace kvrun::network {
namespace {

TEST(GuestNetwork, TheUplinkBecomesEth0WithItsRoutes) {
  Uplink uplink{"veth1", 4, "02:42:ac:11:00:02", 1400, {"10.88.0.5/16", "fd00::5/64"}, {}};
  uplink.routes = {{"default", "10.88.0.1", false},
                   {"10.2.0.0/24", "", false},
                   {"default", "", true},
                   {"default", "fd00::1", true}};
  protocol::ConfigureNetwork request = guest_network(uplink);
  ASSERT_EQ(request.interfaces.size(), 1u);
  EXPECT_EQ(request.interfaces[0].mac, "02:42:ac:11:00:02");
  EXPECT_EQ(request.interfaces[0].name, "eth0");
  EXPECT_EQ(request.interfaces[0].mtu, 1400);
  EXPECT_EQ(request.interfaces[0].addresses, uplink.addresses);
  std::vector<protocol::NetworkRoute> expected = {{"default", "10.88.0.1", "eth0"},
                                                  {"10.2.0.0/24", std::nullopt, "eth0"},
                                                  {"::/0", std::nullopt, "eth0"},
                                                  {"default", "fd00::1", "eth0"}};
  EXPECT_EQ(request.routes, expected);
  // What the agent decodes is what was encoded.
  EXPECT_NO_THROW(protocol::encode_configure_network(request));
}

TEST(GuestNetwork, RoutesBeyondTheProtocolLimitAreDropped) {
  Uplink uplink{"veth1", 4, "02:42:ac:11:00:02", 1500, {"10.88.0.5/16"}, {}};
  uplink.routes.assign(protocol::kMaxNetworkRoutes + 5, Route{"10.2.0.0/24", "10.88.0.1", false});
  EXPECT_EQ(guest_network(uplink).routes.size(), protocol::kMaxNetworkRoutes);
}

}  // namespace
}  // namespace kvrun::network
