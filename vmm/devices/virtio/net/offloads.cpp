#include "vmm/devices/virtio/net/offloads.h"

#include <linux/if_tun.h>

#include "vmm/devices/virtio/net/net_defs.h"

namespace kvrun::vmm::net {

uint64_t offered_features(unsigned tap_offloads) {
  uint64_t features = feature_bit(feature::kVersion1) | feature_bit(feature::kMac) |
                      feature_bit(feature::kStatus) | feature_bit(feature::kCsum) |
                      feature_bit(feature::kHostTso4) | feature_bit(feature::kHostTso6) |
                      feature_bit(feature::kHostEcn);
  if ((tap_offloads & TUN_F_CSUM) == 0) return features;
  features |= feature_bit(feature::kGuestCsum);
  if (tap_offloads & TUN_F_TSO4) features |= feature_bit(feature::kGuestTso4);
  if (tap_offloads & TUN_F_TSO6) features |= feature_bit(feature::kGuestTso6);
  if ((tap_offloads & TUN_F_TSO_ECN) && (tap_offloads & (TUN_F_TSO4 | TUN_F_TSO6)))
    features |= feature_bit(feature::kGuestEcn);
  return features;
}

unsigned tap_offloads_for(uint64_t negotiated) {
  const auto has = [negotiated](unsigned bit) { return (negotiated & feature_bit(bit)) != 0; };
  if (!has(feature::kGuestCsum)) return 0;
  unsigned flags = TUN_F_CSUM;
  if (has(feature::kGuestTso4)) flags |= TUN_F_TSO4;
  if (has(feature::kGuestTso6)) flags |= TUN_F_TSO6;
  if (has(feature::kGuestEcn) && (flags & (TUN_F_TSO4 | TUN_F_TSO6))) flags |= TUN_F_TSO_ECN;
  return flags;
}

}  // namespace kvrun::vmm::net
