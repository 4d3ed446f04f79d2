#include "shim/network/uplink.h"

#include <arpa/inet.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/rtnetlink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "shim/network/netlink.h"

namespace kvrun::network {
namespace {

// nullopt unless `address` is a complete IPv4/IPv6 address; the kernel's lengths are checked
// rather than trusted.
std::optional<std::string> ip_text(nl_addr* address) {
  if (address == nullptr) return std::nullopt;
  const int family = nl_addr_get_family(address);
  const unsigned size = nl_addr_get_len(address);
  if (!((family == AF_INET && size == 4) || (family == AF_INET6 && size == 16)))
    return std::nullopt;
  char text[INET6_ADDRSTRLEN] = {};
  if (::inet_ntop(family, nl_addr_get_binary_addr(address), text, sizeof text) == nullptr)
    return std::nullopt;
  return std::string(text);
}

std::optional<std::string> mac_text(rtnl_link* link) {
  nl_addr* address = rtnl_link_get_addr(link);
  if (address == nullptr || nl_addr_get_len(address) != 6) return std::nullopt;
  const auto* b = static_cast<const unsigned char*>(nl_addr_get_binary_addr(address));
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return std::string(text);
}

template <typename T>
void for_each(nl_cache* cache, const auto& fn) {
  for (nl_object* object = nl_cache_get_first(cache); object != nullptr;
       object = nl_cache_get_next(object))
    fn(reinterpret_cast<T*>(object));
}

std::vector<std::string> addresses_of(nl_sock* socket, int index) {
  nl_cache* raw = nullptr;
  check_nl(rtnl_addr_alloc_cache(socket, &raw), "netlink: list addresses");
  NlCache cache(raw);
  std::vector<std::string> result;
  for_each<rtnl_addr>(cache.get(), [&](rtnl_addr* address) {
    // Link-local addresses (fe80::/10, 169.254/16) belong to the link itself; the guest's
    // kernel makes its own.
    if (rtnl_addr_get_ifindex(address) != index || rtnl_addr_get_scope(address) == RT_SCOPE_LINK)
      return;
    auto ip = ip_text(rtnl_addr_get_local(address));
    const int prefix = rtnl_addr_get_prefixlen(address);
    if (!ip || prefix < 0 || prefix > (rtnl_addr_get_family(address) == AF_INET ? 32 : 128)) return;
    result.push_back(*ip + "/" + std::to_string(prefix));
  });
  return result;
}

std::vector<Route> routes_of(nl_sock* socket, int index) {
  nl_cache* raw = nullptr;
  check_nl(rtnl_route_alloc_cache(socket, AF_UNSPEC, 0, &raw), "netlink: list routes");
  NlCache cache(raw);
  std::vector<Route> result;
  for_each<rtnl_route>(cache.get(), [&](rtnl_route* route) {
    if (rtnl_route_get_table(route) != RT_TABLE_MAIN || rtnl_route_get_type(route) != RTN_UNICAST ||
        rtnl_route_get_protocol(route) == RTPROT_KERNEL)
      return;
    nl_addr* dst = rtnl_route_get_dst(route);
    const int family = rtnl_route_get_family(route);
    if (family != AF_INET && family != AF_INET6) return;
    Route entry;
    entry.ipv6 = family == AF_INET6;
    const unsigned prefix = dst != nullptr ? nl_addr_get_prefixlen(dst) : 0;
    if (prefix == 0) {
      entry.destination = "default";
    } else {
      auto ip = ip_text(dst);
      if (!ip || prefix > (family == AF_INET ? 32u : 128u)) return;
      entry.destination = *ip + "/" + std::to_string(prefix);
    }
    // Of a multipath route only the hop through our interface matters.
    const int hops = rtnl_route_get_nnexthops(route);
    for (int i = 0; i < hops; ++i) {
      rtnl_nexthop* hop = rtnl_route_nexthop_n(route, i);
      if (hop == nullptr || rtnl_route_nh_get_ifindex(hop) != index) continue;
      if (nl_addr* gateway = rtnl_route_nh_get_gateway(hop)) {
        auto ip = ip_text(gateway);
        if (!ip) return;
        entry.gateway = *ip;
      }
      result.push_back(entry);
      return;
    }
  });
  return result;
}

bool has_default(const Uplink& uplink) {
  return std::any_of(uplink.routes.begin(), uplink.routes.end(),
                     [](const Route& r) { return r.destination == "default"; });
}

}  // namespace

std::optional<Uplink> find_uplink(nl_sock* socket, const std::string& skip) {
  nl_cache* raw = nullptr;
  check_nl(rtnl_link_alloc_cache(socket, AF_UNSPEC, &raw), "netlink: list links");
  NlCache links(raw);
  std::vector<Uplink> candidates;
  for_each<rtnl_link>(links.get(), [&](rtnl_link* link) {
    const char* name = rtnl_link_get_name(link);
    if (name == nullptr || name == skip || rtnl_link_get_arptype(link) != ARPHRD_ETHER ||
        (rtnl_link_get_flags(link) & IFF_UP) == 0)
      return;
    auto mac = mac_text(link);
    if (!mac) return;
    Uplink uplink{name, rtnl_link_get_ifindex(link), *mac, rtnl_link_get_mtu(link), {}, {}};
    uplink.addresses = addresses_of(socket, uplink.index);
    if (uplink.addresses.empty()) return;
    uplink.routes = routes_of(socket, uplink.index);
    candidates.push_back(std::move(uplink));
  });
  if (candidates.empty()) return std::nullopt;
  std::sort(candidates.begin(), candidates.end(),
            [](const Uplink& a, const Uplink& b) { return a.index < b.index; });
  auto chosen = std::find_if(candidates.begin(), candidates.end(), has_default);
  if (chosen == candidates.end()) chosen = candidates.begin();
  if (candidates.size() > 1)
    spdlog::info(
        "network: {} interfaces qualify; mirroring {} (first with a default route, else "
        "the first)",
        candidates.size(), chosen->name);
  return std::move(*chosen);
}

}  // namespace kvrun::network
