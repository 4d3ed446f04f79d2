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

// One attempt. Throws Error naming the address and the reason.
UniqueFd connect_agent(const std::string& address);

// Retries while the agent is not listening yet (socket missing, refused, the VMM closing the
// handshake because the guest is still booting) until `timeout` has passed.
UniqueFd connect_agent_waiting(const std::string& address, std::chrono::milliseconds timeout);

// Bounds the time a blocking read/write on fd may take (SO_RCVTIMEO/SO_SNDTIMEO), so a hung
// guest cannot hang a CLI command.
void set_io_timeout(int fd, std::chrono::milliseconds timeout);

}  // namespace kvrun::sandbox
