#include "vmm/devices/virtio/net/net_option.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <cerrno>

#include "common/error.h"
#include "vmm/devices/virtio/net/tap.h"

namespace kvrun::vmm::net {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

MacAddress parse_mac(std::string_view text) {
  const auto fail = [text](const char* why) {
    throw Error(fmt::format("MAC address '{}': {}", text, why));
  };
  if (text.size() != 17) fail("expected xx:xx:xx:xx:xx:xx");
  MacAddress mac{};
  for (size_t i = 0; i < mac.size(); ++i) {
    const int hi = hex_digit(text[i * 3]);
    const int lo = hex_digit(text[i * 3 + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[i * 3 + 2] != ':')) fail("expected xx:xx:xx:xx:xx:xx");
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (mac[0] & 1) fail("multicast, a NIC needs a unicast address");
  if (mac == MacAddress{}) fail("all zero");
  return mac;
}

std::string format_mac(const MacAddress& mac) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", mac[0], mac[1], mac[2], mac[3],
                     mac[4], mac[5]);
}

MacAddress random_mac() {
  MacAddress mac{};
  size_t done = 0;
  while (done < mac.size()) {
    const ssize_t n = ::getrandom(mac.data() + done, mac.size() - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("getrandom for a MAC address");
    }
    done += static_cast<size_t>(n);
  }
  mac[0] = static_cast<uint8_t>((mac[0] & 0xfe) | 0x02);  // unicast, locally administered
  return mac;
}

NetConfig parse_net_option(std::string_view text) {
  NetConfig config;
  bool have_tap = false;
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    const auto fail = [text](const std::string& why) {
      throw Error(fmt::format("--net '{}': {}", text, why));
    };
    if (eq == std::string_view::npos) fail(fmt::format("'{}' is not key=value", item));
    if (key == "tap") {
      if (have_tap) fail("tap= given twice");
      Tap::check_name(value);
      config.tap = value;
      have_tap = true;
    } else if (key == "netns") {
      if (config.netns) fail("netns= given twice");
      if (value.empty()) fail("empty netns=");
      config.netns = std::filesystem::path(value);
    } else if (key == "mac") {
      if (config.mac) fail("mac= given twice");
      config.mac = parse_mac(value);
    } else {
      fail(fmt::format("unknown key '{}' (tap, netns, mac)", key));
    }
  }
  if (!have_tap) throw Error(fmt::format("--net '{}': tap=NAME is required", text));
  return config;
}

}  // namespace kvrun::vmm::net
