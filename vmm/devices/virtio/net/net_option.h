// The --net option of kvrun-vmm: "tap=NAME[,netns=PATH][,mac=xx:xx:xx:xx:xx:xx]".
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace kvrun::vmm::net {

using MacAddress = std::array<uint8_t, 6>;

struct NetConfig {
  std::string tap;                             // interface name, checked by Tap::check_name
  std::optional<std::filesystem::path> netns;  // network namespace the tap lives in
  std::optional<MacAddress> mac;               // the guest's; random when absent
};

// Throws kvrun::Error with one line naming the bad part: missing tap=, unknown or repeated
// key, bad interface name, empty netns, malformed / multicast / all-zero MAC.
NetConfig parse_net_option(std::string_view text);

// "xx:xx:xx:xx:xx:xx" (hex, either case). Throws kvrun::Error.
MacAddress parse_mac(std::string_view text);
std::string format_mac(const MacAddress& mac);

// A random locally administered unicast address (02:xx:xx:xx:xx:xx style), so two VMs on one
// bridge do not collide.
MacAddress random_mac();

}  // namespace kvrun::vmm::net
