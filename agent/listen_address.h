// Where the agent listens: "unix:/path" (host mode and tests) or "vsock:PORT" (in the guest).
#pragma once

#include <sys/socket.h>

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

// Whether the agent may serve a connection from peer (accept4's address of length bytes). On
// vsock only the host (CID 2) may: with a loopback transport or a host that relays guest
// traffic, a container could otherwise reach the agent and act as the host. A unix socket's
// peers are whoever may open its path (host mode, tests): the file's permissions decide.
// Any other family, or an address too short for its family, is refused.
bool accepts_peer(const sockaddr* peer, socklen_t length);

}  // namespace kvrun::agent
