// The --vsock option of kvrun-vmm: "cid=N,uds=PATH".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

namespace kvrun::vmm::vsock {

struct VsockConfig {
  uint64_t guest_cid = 0;  // 3 .. 2^32-2 (0-2 are reserved, vsock addresses are 32-bit)
  std::filesystem::path
      uds_path;  // host clients connect here; guest connections go to <uds>_<port>
};

// Throws kvrun::Error with one line naming the bad part: missing or repeated key, unknown
// key, CID out of range, empty or over-long socket path.
VsockConfig parse_vsock_option(std::string_view text);

}  // namespace kvrun::vmm::vsock
