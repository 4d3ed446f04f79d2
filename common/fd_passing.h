// Passing a file descriptor over a Unix socket (SCM_RIGHTS), as the agent hands a container's
// pty to itself and kvrun hands one to a --console-socket listener.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/unique_fd.h"

namespace kvrun {

// Sends `payload` (at least one byte, as SCM_RIGHTS needs data to ride on) with a copy of `fd`
// on `socket`, retrying on EINTR. Throws kvrun::Error prefixed with `context` on failure.
void send_with_fd(int socket, std::string_view payload, int fd, const std::string& context);

struct ReceivedFd {
  std::string payload;  // empty: the peer closed without sending
  UniqueFd fd;          // invalid if none came with the payload
};

// Receives one message of at most max_payload bytes and the descriptor riding on it, retrying
// on EINTR; any further descriptors are closed. Throws kvrun::Error prefixed with `context`.
ReceivedFd receive_with_fd(int socket, std::size_t max_payload, const std::string& context);

}  // namespace kvrun
