// Where the agent listens: "unix:/path" (host mode and tests) or "vsock:PORT" (in the guest).
#pragma once

#include <string>
#include <string_view>

#include "common/unique_fd.h"

namespace kvrun::agent {

struct ListenAddress {
  enum class Kind { kUnix, kVsock };
  Kind kind = Kind::kUnix;
  std::string path;       // kUnix
  unsigned int port = 0;  // kVsock
};

// Throws Error naming the accepted forms.
ListenAddress parse_listen_address(std::string_view text);

// A non-blocking, close-on-exec listening socket. A stale unix socket file is replaced.
UniqueFd listen_on(const ListenAddress& address);

}  // namespace kvrun::agent
