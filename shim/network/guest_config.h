// The ConfigureNetwork request that gives the guest's eth0 the uplink's identity: found by the
// uplink's MAC (kvrun-vmm gives the virtio-net device that MAC), renamed eth0, same MTU,
// addresses and routes.
#pragma once

#include "protocol/network_messages.h"
#include "shim/network/uplink.h"

namespace kvrun::network {

inline constexpr const char* kGuestInterface = "eth0";

protocol::ConfigureNetwork guest_network(const Uplink& uplink);

// For a namespace without an uplink: drops the path of config's network namespace entry, so the
// guest makes a new namespace with loopback only (the host path means nothing there).
void drop_network_namespace_path(nlohmann::json& config);

}  // namespace kvrun::network
