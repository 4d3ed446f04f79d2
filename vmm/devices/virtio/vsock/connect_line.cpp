#include "vmm/devices/virtio/vsock/connect_line.h"

#include <charconv>

namespace kvrun::vmm::vsock {

std::optional<uint32_t> parse_connect_line(std::string_view line) {
  constexpr std::string_view kPrefix = "CONNECT ";
  if (!line.starts_with(kPrefix)) return std::nullopt;
  const std::string_view digits = line.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 10) return std::nullopt;
  uint32_t port = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return port;
}

std::string ok_line(uint32_t local_port) { return "OK " + std::to_string(local_port) + "\n"; }

}  // namespace kvrun::vmm::vsock
