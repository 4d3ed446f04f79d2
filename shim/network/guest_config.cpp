#include "shim/network/guest_config.h"

#include <spdlog/spdlog.h>

namespace kvrun::network {

protocol::ConfigureNetwork guest_network(const Uplink& uplink) {
  protocol::ConfigureNetwork request;
  protocol::NetworkInterface link;
  link.mac = uplink.mac;
  link.name = kGuestInterface;
  link.mtu = static_cast<int>(uplink.mtu);
  link.addresses = uplink.addresses;
  // The protocol's limits; a CNI namespace holds a handful of each.
  if (link.addresses.size() > protocol::kMaxInterfaceAddresses) {
    spdlog::warn("network: {} has {} addresses; the guest gets the first {}", uplink.name,
                 link.addresses.size(), protocol::kMaxInterfaceAddresses);
    link.addresses.resize(protocol::kMaxInterfaceAddresses);
  }
  request.interfaces.push_back(std::move(link));
  for (const Route& route : uplink.routes) {
    if (request.routes.size() == protocol::kMaxNetworkRoutes) {
      spdlog::warn("network: {} routes through {}; the guest gets the first {}",
                   uplink.routes.size(), uplink.name, protocol::kMaxNetworkRoutes);
      break;
    }
    protocol::NetworkRoute guest;
    guest.destination = route.destination;
    // "default" alone reads as IPv4; an IPv6 default without a gateway needs its prefix.
    if (route.ipv6 && route.destination == "default" && route.gateway.empty())
      guest.destination = "::/0";
    if (!route.gateway.empty()) guest.gateway = route.gateway;
    guest.device = kGuestInterface;
    request.routes.push_back(std::move(guest));
  }
  return request;
}

}  // namespace kvrun::network
