// Passing a file descriptor over a Unix socket (SCM_RIGHTS), as the agent hands a container's
// pty to itself and kvrun hands one to a --console-socket listener.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/unique_fd.h"

namespace kvrun {

// Sends `payload` (at least one byte, as SCM_RIGHTS needs data to ride on) with a copy of `fd`
// on `socket`, retrying on EINTR. Throws kvrun::Error prefixed with `context` on failure.
void send_with_fd(int socket, std::string_view payload, int fd, const std::string& context);

struct ReceivedFds {
  std::string payload;        // empty: the peer closed without sending
  std::vector<UniqueFd> fds;  // the descriptors that came with it
};

inline constexpr std::size_t kMaxReceivedFds = 4;

// Receives one message of at most max_payload bytes and the descriptors riding on it (at most
// kMaxReceivedFds), retrying on EINTR. Throws kvrun::Error prefixed with `context`, also when
// more descriptors came than that (all of them are closed then).
ReceivedFds receive_with_fds(int socket, std::size_t max_payload, const std::string& context);

}  // namespace kvrun
