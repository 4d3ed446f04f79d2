#include "agent/net/links.h"

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>

#include <cstring>

namespace kvrun::agent::net {
namespace {

constexpr std::size_t kMacLength = 6;

std::span<const std::uint8_t> bytes_of(const protocol::IpAddress& address) {
  return address.view();
}

// An RTM_NEWLINK reply: ifinfomsg, then attributes. Returns nullopt if it is too short.
std::optional<LinkInfo> parse_link(std::span<const std::uint8_t> payload) {
  if (payload.size() < sizeof(ifinfomsg)) return std::nullopt;
  ifinfomsg header;
  std::memcpy(&header, payload.data(), sizeof header);
  LinkInfo link;
  link.index = header.ifi_index;
  link.flags = header.ifi_flags;
  AttributeReader(payload.subspan(NLMSG_ALIGN(sizeof(ifinfomsg))))
      .for_each([&](std::uint16_t type, std::span<const std::uint8_t> value) {
        if (type == IFLA_IFNAME) {
          std::string name(reinterpret_cast<const char*>(value.data()),
                           std::min(value.size(), std::size_t{IFNAMSIZ}));
          name.resize(std::strlen(name.c_str()));
          link.name = std::move(name);
        } else if (type == IFLA_ADDRESS && value.size() == kMacLength) {
          protocol::MacAddress mac;
          std::memcpy(mac.bytes.data(), value.data(), kMacLength);
          link.mac = mac;
        } else if (type == IFLA_MTU && value.size() == sizeof(std::uint32_t)) {
          std::uint32_t mtu;
          std::memcpy(&mtu, value.data(), sizeof mtu);
          link.mtu = static_cast<int>(mtu);
        }
      });
  return link;
}

NetlinkMessage link_change(int index, unsigned flags, unsigned change) {
  NetlinkMessage message(RTM_NEWLINK, 0);
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  header.ifi_index = index;
  header.ifi_flags = flags;
  header.ifi_change = change;
  message.put_struct(header);
  return message;
}

// The subnet's last address: what `ip addr add ... brd +` sets.
protocol::IpAddress broadcast_of(const protocol::IpPrefix& prefix) {
  protocol::IpAddress broadcast = prefix.address;
  for (std::size_t bit = static_cast<std::size_t>(prefix.length); bit < 32; ++bit) {
    broadcast.bytes[bit / 8] =
        static_cast<std::uint8_t>(broadcast.bytes[bit / 8] | (0x80u >> (bit % 8)));
  }
  return broadcast;
}

}  // namespace

std::vector<LinkInfo> list_links(NetlinkSocket& socket) {
  NetlinkMessage message(RTM_GETLINK, NLM_F_DUMP);
  ifinfomsg header{};
  header.ifi_family = AF_UNSPEC;
  message.put_struct(header);
  std::vector<LinkInfo> links;
  socket.dump(message, [&](std::uint16_t type, std::span<const std::uint8_t> payload) {
    if (type != RTM_NEWLINK) return;
    if (auto link = parse_link(payload)) links.push_back(std::move(*link));
  });
  return links;
}

std::optional<LinkInfo> find_link_by_mac(NetlinkSocket& socket, const protocol::MacAddress& mac) {
  for (auto& link : list_links(socket)) {
    if (link.mac == mac) return link;
  }
  return std::nullopt;
}

std::optional<LinkInfo> find_link_by_name(NetlinkSocket& socket, const std::string& name) {
  for (auto& link : list_links(socket)) {
    if (link.name == name) return link;
  }
  return std::nullopt;
}

void set_link_name(NetlinkSocket& socket, int index, const std::string& name) {
  NetlinkMessage message = link_change(index, 0, 0);
  message.put_string(IFLA_IFNAME, name);
  socket.request(message);
}

void set_link_mtu(NetlinkSocket& socket, int index, int mtu) {
  NetlinkMessage message = link_change(index, 0, 0);
  message.put_u32(IFLA_MTU, static_cast<std::uint32_t>(mtu));
  socket.request(message);
}

void set_link_up(NetlinkSocket& socket, int index) {
  NetlinkMessage message = link_change(index, IFF_UP, IFF_UP);
  socket.request(message);
}

void move_link(NetlinkSocket& socket, int index, int netns_fd) {
  NetlinkMessage message = link_change(index, 0, 0);
  message.put_u32(IFLA_NET_NS_FD, static_cast<std::uint32_t>(netns_fd));
  socket.request(message);
}

void add_address(NetlinkSocket& socket, int index, const protocol::IpPrefix& address) {
  NetlinkMessage message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  ifaddrmsg header{};
  header.ifa_family = static_cast<std::uint8_t>(address.address.family);
  header.ifa_prefixlen = static_cast<std::uint8_t>(address.length);
  header.ifa_scope = RT_SCOPE_UNIVERSE;
  header.ifa_index = static_cast<std::uint32_t>(index);
  if (address.address.family == AF_INET6) {
    // The address is the host uplink's, which CNI has already checked for uniqueness; the
    // detection would only keep it unusable ("tentative") for a second or more after boot.
    header.ifa_flags = IFA_F_NODAD;
  }
  message.put_struct(header);
  message.put_attribute(IFA_LOCAL, bytes_of(address.address));
  message.put_attribute(IFA_ADDRESS, bytes_of(address.address));
  if (address.address.family == AF_INET && address.length < 31) {
    message.put_attribute(IFA_BROADCAST, bytes_of(broadcast_of(address)));
  }
  socket.request(message);
}

void add_route(NetlinkSocket& socket, const Route& route) {
  NetlinkMessage message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtmsg header{};
  header.rtm_family = static_cast<std::uint8_t>(route.family);
  header.rtm_dst_len = static_cast<std::uint8_t>(route.destination ? route.destination->length : 0);
  header.rtm_table = RT_TABLE_MAIN;
  header.rtm_protocol = RTPROT_BOOT;
  // An IPv4 destination without a gateway is on the link itself; IPv6 routes have no scope.
  header.rtm_scope = route.family == AF_INET && !route.gateway ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
  header.rtm_type = RTN_UNICAST;
  message.put_struct(header);
  if (route.destination) message.put_attribute(RTA_DST, bytes_of(route.destination->address));
  if (route.gateway) message.put_attribute(RTA_GATEWAY, bytes_of(*route.gateway));
  if (route.device_index != 0)
    message.put_u32(RTA_OIF, static_cast<std::uint32_t>(route.device_index));
  socket.request(message);
}

}  // namespace kvrun::agent::net
