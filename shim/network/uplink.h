// The interface a CNI plugin (or a test) put into a container's network namespace, as the
// guest should see it: the one interface that is not loopback, is up and has an address. With
// several, the first (lowest index) holding a default route wins, else the first.
#pragma once

#include <netlink/netlink.h>

#include <optional>
#include <string>
#include <vector>

namespace kvrun::network {

struct Route {
  std::string destination;  // "default" or a CIDR ("10.2.0.0/24", "fd00:1::/64")
  std::string gateway;      // "" for a route straight onto the link
  bool ipv6 = false;
};

struct Uplink {
  std::string name;  // in the namespace, e.g. eth0 made by CNI
  int index = 0;
  std::string mac;  // "02:42:ac:11:00:02"
  unsigned mtu = 1500;
  // IPv4 and non-link-local IPv6, as CIDR ("10.88.0.5/16").
  std::vector<std::string> addresses;
  // Main-table unicast routes through this interface, except the prefix routes the kernel
  // makes for each address (the guest's kernel makes its own).
  std::vector<Route> routes;
};

// Reads the links, addresses and routes of the socket's namespace. nullopt when no interface
// qualifies (the container then gets loopback only). `skip` names a device never chosen (our
// own tap). Throws Error on netlink failures.
std::optional<Uplink> find_uplink(nl_sock* socket, const std::string& skip);

}  // namespace kvrun::network
