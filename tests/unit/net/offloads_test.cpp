#include "vmm/devices/virtio/net/offloads.h"

#include <gtest/gtest.h>
#include <linux/if_tun.h>

#include "vmm/devices/virtio/net/net_defs.h"

namespace kvrun::vmm::net {
namespace {

bool has(uint64_t features, unsigned bit) { return (features & feature_bit(bit)) != 0; }

TEST(OffloadsTest, TransmitOffloadsAreAlwaysOffered) {
  const uint64_t features = offered_features(0);
  for (unsigned bit : {feature::kVersion1, feature::kMac, feature::kStatus, feature::kCsum,
                       feature::kHostTso4, feature::kHostTso6})
    EXPECT_TRUE(has(features, bit)) << bit;
  for (unsigned bit :
       {feature::kGuestCsum, feature::kGuestTso4, feature::kGuestTso6, feature::kGuestEcn,
        feature::kGuestUfo, feature::kHostUfo, feature::kMrgRxbuf, feature::kCtrlVq})
    EXPECT_FALSE(has(features, bit)) << bit;
}

TEST(OffloadsTest, ReceiveOffloadsFollowWhatTheTapAccepted) {
  EXPECT_FALSE(has(offered_features(TUN_F_TSO4), feature::kGuestTso4));  // no CSUM
  const uint64_t csum_tso4 = offered_features(TUN_F_CSUM | TUN_F_TSO4);
  EXPECT_TRUE(has(csum_tso4, feature::kGuestCsum));
  EXPECT_TRUE(has(csum_tso4, feature::kGuestTso4));
  EXPECT_FALSE(has(csum_tso4, feature::kGuestTso6));
  const uint64_t all = offered_features(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN);
  EXPECT_TRUE(has(all, feature::kGuestTso6));
  EXPECT_TRUE(has(all, feature::kGuestEcn));
  EXPECT_FALSE(has(offered_features(TUN_F_CSUM | TUN_F_TSO_ECN), feature::kGuestEcn));
}

TEST(OffloadsTest, TapOffloadsFollowWhatTheGuestAccepted) {
  EXPECT_EQ(tap_offloads_for(0), 0u);
  EXPECT_EQ(tap_offloads_for(feature_bit(feature::kGuestTso4)), 0u);  // TSO needs CSUM
  EXPECT_EQ(tap_offloads_for(feature_bit(feature::kGuestCsum)), unsigned{TUN_F_CSUM});
  EXPECT_EQ(tap_offloads_for(feature_bit(feature::kGuestCsum) | feature_bit(feature::kGuestTso6) |
                             feature_bit(feature::kGuestEcn)),
            unsigned{TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN});
  EXPECT_EQ(tap_offloads_for(feature_bit(feature::kGuestCsum) | feature_bit(feature::kGuestEcn)),
            unsigned{TUN_F_CSUM});  // ECN without TSO means nothing
  // Host-side (TX) features never change what the tap sends us.
  EXPECT_EQ(tap_offloads_for(feature_bit(feature::kCsum) | feature_bit(feature::kHostTso4)), 0u);
}

}  // namespace
}  // namespace kvrun::vmm::net
