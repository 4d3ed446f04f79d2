// Opening a connection to an agent, from the host side:
//   unix:/path        the agent's own unix socket (host-mode agent, or inside the guest)
//   vsock-uds:/path   kvrun-vmm's vsock device: a unix socket on which "CONNECT 1024\n" is
//                     answered with "OK <host port>\n" once the guest's agent accepted
//                     (Firecracker's hybrid vsock handshake)
#pragma once

#include <chrono>
#include <string_view>

#include "common/unique_fd.h"

namespace kvrun::protocol {

inline constexpr unsigned kAgentVsockPort = 1024;

// Throws Error("connect <address>: <reason>"), TimeoutError when the connect or the handshake
// takes longer than `timeout`. Replies are awaited at most `timeout` too: it is set as the
// socket's receive timeout, which a Client on the connection takes as its call timeout.
UniqueFd connect_agent(std::string_view address,
                       std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace kvrun::protocol
