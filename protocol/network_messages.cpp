#include "protocol/network_messages.h"

#include <algorithm>

#include "common/error.h"
#include "protocol/json_reader.h"
#include "protocol/net_address.h"

namespace kvrun::protocol {
namespace {

constexpr std::size_t kMaxLinkName = 15;  // IFNAMSIZ - 1
constexpr int kMinMtu = 68;               // the IPv4 minimum
constexpr int kMaxMtu = 65535;

const nlohmann::json& bounded_array(JsonReader& reader, std::string_view key, std::size_t min,
                                    std::size_t max, const nlohmann::json& empty) {
  const nlohmann::json* array = min == 0 ? reader.optional_array(key) : &reader.array(key);
  if (array == nullptr) return empty;
  if (array->size() < min || array->size() > max) {
    throw Error(reader.path_of(key) + ": expected " + std::to_string(min) + "-" +
                std::to_string(max) + " entries, got " + std::to_string(array->size()));
  }
  return *array;
}

NetworkInterface decode_interface(JsonReader& reader) {
  NetworkInterface interface;
  interface.mac = reader.string("mac");
  parse_mac(interface.mac, reader.path_of("mac"));
  interface.name = reader.optional_string("name");
  if (interface.name) check_link_name(*interface.name, reader.path_of("name"));
  if (auto mtu = reader.optional_integer("mtu", kMinMtu, kMaxMtu)) {
    interface.mtu = static_cast<int>(*mtu);
  }
  const nlohmann::json empty = nlohmann::json::array();
  const auto& addresses = bounded_array(reader, "addresses", 0, kMaxInterfaceAddresses, empty);
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    std::string path = element_path(reader.path_of("addresses"), i);
    interface.addresses.push_back(expect_string(addresses[i], path));
    parse_cidr(interface.addresses.back(), path);
  }
  reader.reject_unknown();
  return interface;
}

NetworkRoute decode_route(JsonReader& reader) {
  NetworkRoute route;
  route.destination = reader.string("destination");
  route.gateway = reader.optional_string("gateway");
  route.device = reader.optional_string("device");
  reader.reject_unknown();
  if (!route.gateway && !route.device) {
    throw Error(reader.path() + ": needs a gateway, a device or both");
  }
  if (route.device) check_link_name(*route.device, reader.path_of("device"));
  int family = 0;
  if (route.destination != "default") {
    IpPrefix destination = parse_cidr(route.destination, reader.path_of("destination"));
    if (destination.network() != destination) {
      throw Error(reader.path_of("destination") + " " + route.destination +
                  ": has bits set past the prefix length (did you mean " +
                  destination.network().to_string() + "?)");
    }
    family = destination.address.family;
  }
  if (route.gateway) {
    IpAddress gateway = parse_ip(*route.gateway, reader.path_of("gateway"));
    if (family != 0 && gateway.family != family) {
      throw Error(reader.path_of("gateway") + " " + *route.gateway +
                  ": not the address family of the destination " + route.destination);
    }
  }
  return route;
}

}  // namespace

void check_link_name(const std::string& name, const std::string& path) {
  bool valid = !name.empty() && name.size() <= kMaxLinkName && name != "." && name != ".." &&
               std::all_of(name.begin(), name.end(), [](char c) {
                 return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
               });
  if (!valid) {
    throw Error(path + ": a link name is 1-15 characters of [A-Za-z0-9_.-] (not . or ..)");
  }
}

ConfigureNetwork decode_configure_network(JsonReader& body) {
  ConfigureNetwork request;
  const nlohmann::json empty = nlohmann::json::array();
  const auto& interfaces = bounded_array(body, "interfaces", 1, kMaxNetworkInterfaces, empty);
  for (std::size_t i = 0; i < interfaces.size(); ++i) {
    JsonReader reader(interfaces[i], element_path(body.path_of("interfaces"), i));
    request.interfaces.push_back(decode_interface(reader));
    const auto& added = request.interfaces.back();
    for (std::size_t j = 0; j < i; ++j) {
      const auto& other = request.interfaces[j];
      std::string other_path = element_path(body.path_of("interfaces"), j);
      if (parse_mac(other.mac, "") == parse_mac(added.mac, "")) {
        throw Error(reader.path_of("mac") + ": same MAC address as " + other_path);
      }
      if (added.name && other.name == added.name) {
        throw Error(reader.path_of("name") + ": same name as " + other_path);
      }
    }
  }
  const auto& routes = bounded_array(body, "routes", 0, kMaxNetworkRoutes, empty);
  for (std::size_t i = 0; i < routes.size(); ++i) {
    JsonReader reader(routes[i], element_path(body.path_of("routes"), i));
    request.routes.push_back(decode_route(reader));
  }
  return request;
}

nlohmann::json encode_configure_network(const ConfigureNetwork& request) {
  nlohmann::json interfaces = nlohmann::json::array();
  for (const auto& interface : request.interfaces) {
    nlohmann::json j = {{"mac", interface.mac}, {"addresses", interface.addresses}};
    if (interface.name) j["name"] = *interface.name;
    if (interface.mtu) j["mtu"] = *interface.mtu;
    interfaces.push_back(std::move(j));
  }
  nlohmann::json routes = nlohmann::json::array();
  for (const auto& route : request.routes) {
    nlohmann::json j = {{"destination", route.destination}};
    if (route.gateway) j["gateway"] = *route.gateway;
    if (route.device) j["device"] = *route.device;
    routes.push_back(std::move(j));
  }
  return {{"interfaces", std::move(interfaces)}, {"routes", std::move(routes)}};
}

}  // namespace kvrun::protocol
