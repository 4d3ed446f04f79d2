// Opening a connection to a sandbox's agent. Addresses, as stored in state.json:
//   unix:<path>   the agent itself listens there (host sandboxes)
//   vsock:<path>  kvrun-vmm's vsock Unix socket: send "CONNECT 1024\n", expect "OK <port>\n",
//                 then the stream is the guest's port 1024
#pragma once

#include <chrono>
#include <string>

#include "common/unique_fd.h"

namespace kvrun::sandbox {

inline constexpr unsigned kAgentVsockPort = 1024;

// Connecting and the vsock handshake: kvrun-vmm answers it as soon as the guest accepts or
// refuses, and gives the guest 2 s for that itself.
inline constexpr std::chrono::milliseconds kConnectTimeout{10000};

// One attempt, bounded by `timeout` (connect and handshake). The connection has no I/O timeout
// of its own: protocol::Client bounds its calls, stdio streams may block forever. Throws Error
// naming the address and the reason, TimeoutError when it took too long.
UniqueFd connect_agent(const std::string& address,
                       std::chrono::milliseconds timeout = kConnectTimeout);

// Retries while the agent is not listening yet (socket missing, refused, the VMM closing the
// handshake because the guest is still booting) until `timeout` has passed.
UniqueFd connect_agent_waiting(const std::string& address, std::chrono::milliseconds timeout);

// Bounds the time a blocking read/write on fd may take (SO_RCVTIMEO/SO_SNDTIMEO), so a hung
// guest cannot hang a CLI command. A protocol::Client made on fd takes it as its call timeout.
void set_io_timeout(int fd, std::chrono::milliseconds timeout);

}  // namespace kvrun::sandbox
