// The host side of Firecracker's vsock handshake: a client of the VMM's Unix socket writes
// "CONNECT <port>\n" and, once the guest accepts, reads "OK <host port>\n".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kvrun::vmm::vsock {

// Longest line accepted, '\n' included: "CONNECT 4294967295\n" is 19 bytes.
inline constexpr size_t kMaxConnectLine = 32;

// The port of a "CONNECT <port>" line (without its '\n'); nullopt unless it is exactly that,
// with a decimal port that fits 32 bits.
std::optional<uint32_t> parse_connect_line(std::string_view line);

// Longest reply: "OK 4294967295\n" is 14 bytes.
inline constexpr size_t kMaxOkLine = 14;

std::string ok_line(uint32_t local_port);

}  // namespace kvrun::vmm::vsock
