#include "agent/net/network_setup.h"

#include <sys/socket.h>

#include <functional>
#include <optional>

#include "agent/net/links.h"
#include "protocol/json_reader.h"
#include "protocol/net_address.h"

namespace kvrun::agent::net {
namespace {

// Runs step; a kernel refusal becomes "<item>: <reason>".
void step(const std::string& item, const std::function<void()>& action) {
  try {
    action();
  } catch (const NetlinkError& e) {
    throw Error(item + ": " + e.what());
  }
}

LinkInfo require_link(std::optional<LinkInfo> link, const std::string& item,
                      std::string_view what) {
  if (!link) throw Error(item + ": " + std::string(what));
  return *link;
}

void configure_interface(const protocol::NetworkInterface& interface, const std::string& path,
                         NetlinkSocket& here, NetlinkSocket* target, int target_netns_fd) {
  auto mac = protocol::parse_mac(interface.mac, path + ".mac");
  std::string mac_item = path + ".mac " + interface.mac;
  LinkInfo link =
      require_link(find_link_by_mac(here, mac), mac_item, "no link has this MAC address");
  NetlinkSocket& socket = target ? *target : here;
  if (target) {
    step(mac_item, [&] { move_link(here, link.index, target_netns_fd); });
    // The index may change in the other namespace; the MAC does not.
    link = require_link(find_link_by_mac(socket, mac), mac_item,
                        "the link vanished when moved to the pod's namespace");
  }
  if (interface.name && *interface.name != link.name) {
    step(path + ".name " + *interface.name,
         [&] { set_link_name(socket, link.index, *interface.name); });
  }
  if (interface.mtu) {
    step(path + ".mtu " + std::to_string(*interface.mtu),
         [&] { set_link_mtu(socket, link.index, *interface.mtu); });
  }
  for (std::size_t i = 0; i < interface.addresses.size(); ++i) {
    std::string item = protocol::element_path(path + ".addresses", i);
    auto address = protocol::parse_cidr(interface.addresses[i], item);
    step(item + " " + interface.addresses[i], [&] { add_address(socket, link.index, address); });
  }
  step(path + " " + (interface.name ? *interface.name : link.name) + " up",
       [&] { set_link_up(socket, link.index); });
}

void add_request_route(const protocol::NetworkRoute& request, const std::string& path,
                       NetlinkSocket& socket) {
  Route route;
  std::string description = request.destination;
  if (request.gateway) {
    route.gateway = protocol::parse_ip(*request.gateway, path + ".gateway");
    description += " via " + *request.gateway;
  }
  if (request.destination == "default") {
    route.family = route.gateway ? route.gateway->family : AF_INET;
  } else {
    route.destination = protocol::parse_cidr(request.destination, path + ".destination");
    route.family = route.destination->address.family;
  }
  if (request.device) {
    description += " dev " + *request.device;
    route.device_index = require_link(find_link_by_name(socket, *request.device),
                                      path + ".device " + *request.device, "no such link")
                             .index;
  }
  step(path + " " + description, [&] { add_route(socket, route); });
}

}  // namespace

void apply_network(const protocol::ConfigureNetwork& request, int target_netns_fd) {
  NetlinkSocket here = NetlinkSocket::open();
  std::optional<NetlinkSocket> target;
  if (target_netns_fd >= 0) target.emplace(NetlinkSocket::open_in(target_netns_fd));
  NetlinkSocket& socket = target ? *target : here;

  LinkInfo lo = require_link(find_link_by_name(socket, "lo"), "lo", "no loopback link");
  step("lo up", [&] { set_link_up(socket, lo.index); });
  for (std::size_t i = 0; i < request.interfaces.size(); ++i) {
    configure_interface(request.interfaces[i], protocol::element_path("interfaces", i), here,
                        target ? &*target : nullptr, target_netns_fd);
  }
  for (std::size_t i = 0; i < request.routes.size(); ++i) {
    add_request_route(request.routes[i], protocol::element_path("routes", i), socket);
  }
}

}  // namespace kvrun::agent::net
