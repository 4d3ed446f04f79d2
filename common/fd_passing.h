// Passing a file descriptor over a Unix socket (SCM_RIGHTS), as the agent hands a container's
// pty to itself and kvrun hands one to a --console-socket listener.
#pragma once

#include <string>
#include <string_view>

namespace kvrun {

// Sends `payload` (at least one byte, as SCM_RIGHTS needs data to ride on) with a copy of `fd`
// on `socket`, retrying on EINTR. Throws kvrun::Error prefixed with `context` on failure.
void send_with_fd(int socket, std::string_view payload, int fd, const std::string& context);

}  // namespace kvrun
