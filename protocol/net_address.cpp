#include "protocol/net_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

#include "common/error.h"

namespace kvrun::protocol {
namespace {

[[noreturn]] void invalid(std::string_view path, std::string_view text, std::string_view why) {
  throw Error(std::string(path) + " " + std::string(text) + ": " + std::string(why));
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_ip_text(std::string_view text, IpAddress& address) {
  // inet_pton needs a terminated string; anything longer than the longest IPv6 text is bad.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  std::string copy(text);
  address.family = copy.find(':') == std::string::npos ? AF_INET : AF_INET6;
  return ::inet_pton(address.family, copy.c_str(), address.bytes.data()) == 1;
}

}  // namespace

std::string MacAddress::to_string() const {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2],
                bytes[3], bytes[4], bytes[5]);
  return text;
}

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN];
  if (::inet_ntop(family, bytes.data(), text, sizeof text) == nullptr) return "?";
  return text;
}

IpPrefix IpPrefix::network() const {
  IpPrefix out = *this;
  for (std::size_t bit = static_cast<std::size_t>(length); bit < address.size() * 8; ++bit) {
    out.address.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  return out;
}

std::string IpPrefix::to_string() const {
  return address.to_string() + "/" + std::to_string(length);
}

MacAddress parse_mac(std::string_view text, std::string_view path) {
  MacAddress mac;
  if (text.size() != 17) invalid(path, text, "expected a MAC address like 02:42:ac:11:00:02");
  for (std::size_t i = 0; i < 6; ++i) {
    int high = hex_digit(text[i * 3]);
    int low = hex_digit(text[i * 3 + 1]);
    if (high < 0 || low < 0 || (i < 5 && text[i * 3 + 2] != ':')) {
      invalid(path, text, "expected a MAC address like 02:42:ac:11:00:02");
    }
    mac.bytes[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  // A multicast address cannot be a link's own address (the kernel would refuse it too).
  if (mac.bytes[0] & 1) invalid(path, text, "a multicast MAC address cannot name a link");
  return mac;
}

IpAddress parse_ip(std::string_view text, std::string_view path) {
  IpAddress address;
  if (!parse_ip_text(text, address)) invalid(path, text, "not an IP address");
  return address;
}

IpPrefix parse_cidr(std::string_view text, std::string_view path) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    invalid(path, text, "expected <address>/<prefix length>");
  }
  std::string_view length_text = text.substr(slash + 1);
  IpPrefix prefix;
  if (!parse_ip_text(text.substr(0, slash), prefix.address)) {
    invalid(path, text, "not an IP address before the '/'");
  }
  int max = prefix.address.family == AF_INET ? 32 : 128;
  auto [end, ec] =
      std::from_chars(length_text.data(), length_text.data() + length_text.size(), prefix.length);
  // Digits only (from_chars accepts a leading '-'), at most 3 of them, within the family's range.
  if (length_text.empty() || length_text.size() > 3 || length_text.front() == '-' ||
      ec != std::errc() || end != length_text.data() + length_text.size() || prefix.length < 0 ||
      prefix.length > max) {
    invalid(path, text, "prefix length must be 0-" + std::to_string(max));
  }
  return prefix;
}

}  // namespace kvrun::protocol
