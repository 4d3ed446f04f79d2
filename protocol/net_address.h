// Text forms of the network values ConfigureNetwork carries (MAC addresses, IP addresses and
// CIDR prefixes), parsed strictly: these come from the host, and the agent hands the binary
// forms to the kernel. Every parser throws Error("<path> <text>: <reason>").
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace kvrun::protocol {

struct MacAddress {
  std::array<std::uint8_t, 6> bytes{};
  std::string to_string() const;  // lower-case "02:42:ac:11:00:02"
  bool operator==(const MacAddress&) const = default;
};

struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{};
  // 4 or 16: how many of bytes are the address.
  std::size_t size() const { return family == AF_INET ? 4 : 16; }
  std::span<const std::uint8_t> view() const { return {bytes.data(), size()}; }
  std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

struct IpPrefix {
  IpAddress address;
  int length = 0;  // 0-32 for IPv4, 0-128 for IPv6
  // The prefix with every bit past `length` cleared; differs from *this for an interface
  // address such as 10.88.0.5/16, which is not a valid route destination.
  IpPrefix network() const;
  std::string to_string() const;
  bool operator==(const IpPrefix&) const = default;
};

// Six pairs of hex digits separated by ':' (either case).
MacAddress parse_mac(std::string_view text, std::string_view path);
// Dotted IPv4 or RFC 4291 IPv6 text, as inet_pton takes them.
IpAddress parse_ip(std::string_view text, std::string_view path);
// "<address>/<length>"; the length is mandatory.
IpPrefix parse_cidr(std::string_view text, std::string_view path);

}  // namespace kvrun::protocol
