// A blocking ttrpc client for one call at a time: how the shim forwards events to containerd's
// TTRPC_ADDRESS.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/unique_fd.h"

namespace kvrun::containerd::ttrpc {

class Client {
 public:
  explicit Client(UniqueFd connection) : fd_(std::move(connection)) {}
  // address: a Unix socket path, with or without "unix://". Throws Error.
  static Client connect(std::string_view address);

  // Throws RpcError with the server's status, or Error if the connection fails or the reply
  // takes longer than timeout.
  std::string call(const std::string& service, const std::string& method,
                   const std::string& payload, std::chrono::milliseconds timeout);

 private:
  UniqueFd fd_;
  std::uint32_t next_stream_ = 1;  // client streams are odd
};

}  // namespace kvrun::containerd::ttrpc
