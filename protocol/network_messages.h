// ConfigureNetwork (docs/agent-protocol.md "Networking"): the guest's links, addresses and
// routes, mirrored from the container's network namespace on the host. Values stay in their
// text form here (what the host has at hand); decoding has already checked every one of them
// with protocol/net_address.h, so the agent's parse cannot fail.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/replies.h"

namespace kvrun::protocol {

class JsonReader;

inline constexpr std::size_t kMaxNetworkInterfaces = 16;
inline constexpr std::size_t kMaxInterfaceAddresses = 64;
inline constexpr std::size_t kMaxNetworkRoutes = 256;

// A guest link, found by its MAC: the VMM gives the virtio-net device the host uplink's MAC.
struct NetworkInterface {
  std::string mac;
  std::optional<std::string> name;     // rename the link to this (IFNAMSIZ-1 of [A-Za-z0-9_.-])
  std::optional<int> mtu;              // 68-65535
  std::vector<std::string> addresses;  // CIDR, IPv4 or IPv6: "10.88.0.5/16"
  bool operator==(const NetworkInterface&) const = default;
};

// destination "default" (0.0.0.0/0, or ::/0 with an IPv6 gateway) or a CIDR without host bits.
// At least one of gateway and device; device is an interface name of the request or an
// existing guest link.
struct NetworkRoute {
  std::string destination;
  std::optional<std::string> gateway;
  std::optional<std::string> device;
  bool operator==(const NetworkRoute&) const = default;
};

// Routes are added in order, after every interface is up with its addresses.
struct ConfigureNetwork {
  static constexpr std::string_view kName = "ConfigureNetwork";
  using Reply = EmptyReply;
  std::vector<NetworkInterface> interfaces;
  std::vector<NetworkRoute> routes;
  bool operator==(const ConfigureNetwork&) const = default;
};

// Throws Error naming the field by its path ("body.interfaces[0].mtu: ...").
ConfigureNetwork decode_configure_network(JsonReader& body);
nlohmann::json encode_configure_network(const ConfigureNetwork& request);

// Link names the kernel accepts and that are safe in messages: 1-15 of [A-Za-z0-9_.-], not "."
// or "..". Throws Error naming path.
void check_link_name(const std::string& name, const std::string& path);

}  // namespace kvrun::protocol
