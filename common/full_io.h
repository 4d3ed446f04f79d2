// Whole-buffer reads and writes on a file descriptor, retrying short transfers and EINTR: the
// loop every framed protocol and every small file writer needs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kvrun {

// Writes all of `data`. On a socket it sends with MSG_NOSIGNAL, so a peer that went away is an
// error (EPIPE) rather than a SIGPIPE. Throws Error("<context>: <errno text>").
void write_all(int fd, std::string_view data, const std::string& context);

// Reads until `size` bytes arrived or the stream ended; returns how many arrived. Throws
// Error("<context>: <errno text>") on a read error.
std::size_t read_full(int fd, char* data, std::size_t size, const std::string& context);

}  // namespace kvrun
