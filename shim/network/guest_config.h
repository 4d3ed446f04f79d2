// The ConfigureNetwork request that gives the guest's eth0 the uplink's identity: found by the
// uplink's MAC (kvrun-vmm gives the virtio-net device that MAC), renamed eth0, same MTU,
// addresses and routes.
#pragma once

#include "protocol/network_messages.h"
#include "shim/network/uplink.h"

namespace kvrun::network {

inline constexpr const char* kGuestInterface = "eth0";

protocol::ConfigureNetwork guest_network(const Uplink& uplink);

}  // namespace kvrun::network
