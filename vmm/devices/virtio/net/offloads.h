// Which virtio-net offload features the device offers, and which tap offloads follow from the
// features the guest accepted.
//
// Guest -> tap (TX, the HOST_* features): a tap with IFF_VNET_HDR takes partially checksummed
// and TSO frames from us without any setting, so those are always offered.
// Tap -> guest (RX, the GUEST_* features): the tap hands us such frames only once TUNSETOFFLOAD
// allows it, so each is offered only if the tap accepted the matching TUN_F_* flag.
#pragma once

#include <cstdint>

namespace kvrun::vmm::net {

// Device features for a tap that accepted the TUN_F_* flags in `tap_offloads`: VERSION_1,
// MAC, STATUS, CSUM, HOST_TSO4/6, HOST_ECN and the GUEST_* ones the tap supports.
uint64_t offered_features(unsigned tap_offloads);

// TUN_F_* flags for the tap once the guest accepted `negotiated`. Drops flags the spec makes
// depend on others (TSO without CSUM, ECN without TSO), so the tap never gets a combination
// the guest cannot handle.
unsigned tap_offloads_for(uint64_t negotiated);

}  // namespace kvrun::vmm::net
