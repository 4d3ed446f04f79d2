#include "vmm/devices/virtio/vsock/vsock_option.h"

#include <sys/un.h>

#include <charconv>
#include <string>

#include "common/error.h"

namespace kvrun::vmm::vsock {

VsockConfig parse_vsock_option(std::string_view option) {
  VsockConfig config;
  std::string_view text = option;
  bool have_cid = false, have_uds = false;
  auto fail = [&](const std::string& why) -> void {
    throw Error("--vsock " + std::string(option) + ": " + why);
  };
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) fail("expected key=value, got \"" + std::string(item) + "\"");
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "cid") {
      if (have_cid) fail("cid= given twice");
      have_cid = true;
      const auto [end, ec] =
          std::from_chars(value.data(), value.data() + value.size(), config.guest_cid);
      if (ec != std::errc{} || end != value.data() + value.size() || value.empty())
        fail("cid must be a decimal number");
      if (config.guest_cid < 3 || config.guest_cid > 0xfffffffeull)
        fail("cid must be between 3 and 4294967294");
    } else if (key == "uds") {
      if (have_uds) fail("uds= given twice");
      have_uds = true;
      if (value.empty()) fail("uds= is empty");
      // Room for "_<port>" (up to 11 bytes) of guest-initiated connections, and the NUL.
      if (value.size() + 11 >= sizeof(sockaddr_un{}.sun_path))
        fail("uds path is too long for a Unix socket");
      config.uds_path = std::string(value);
    } else {
      fail("unknown key \"" + std::string(key) + "\"");
    }
  }
  if (!have_cid) fail("cid= is required");
  if (!have_uds) fail("uds= is required");
  return config;
}

}  // namespace kvrun::vmm::vsock
