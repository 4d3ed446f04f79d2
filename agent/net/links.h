// rtnetlink operations on one network namespace's links, addresses and routes, each a single
// kernel request: the caller decides the order and names the item in errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/net/netlink.h"
#include "protocol/net_address.h"

namespace kvrun::agent::net {

struct LinkInfo {
  int index = 0;
  std::string name;
  std::optional<protocol::MacAddress> mac;  // Ethernet links only
  unsigned flags = 0;                       // IFF_*
  int mtu = 0;
};

std::vector<LinkInfo> list_links(NetlinkSocket& socket);
std::optional<LinkInfo> find_link_by_mac(NetlinkSocket& socket, const protocol::MacAddress& mac);
std::optional<LinkInfo> find_link_by_name(NetlinkSocket& socket, const std::string& name);

// Each throws NetlinkError with the kernel's reason.
void set_link_name(NetlinkSocket& socket, int index, const std::string& name);
void set_link_mtu(NetlinkSocket& socket, int index, int mtu);
void set_link_up(NetlinkSocket& socket, int index);
// Moves the link into the network namespace netns_fd; its index there may differ.
void move_link(NetlinkSocket& socket, int index, int netns_fd);

// A permanent address; IPv4 gets the subnet's broadcast address (what `ip addr add ... brd +`
// does). IPv6 skips duplicate address detection: see the .cpp.
void add_address(NetlinkSocket& socket, int index, const protocol::IpPrefix& address);

struct Route {
  std::optional<protocol::IpPrefix> destination;  // nullopt: the default route
  int family = 0;                                 // AF_INET or AF_INET6
  std::optional<protocol::IpAddress> gateway;
  int device_index = 0;  // 0: the kernel picks the link from the gateway
};
// In the main table; an existing identical route is an error (EEXIST).
void add_route(NetlinkSocket& socket, const Route& route);

}  // namespace kvrun::agent::net
