// The shim's own ttrpc socket, named as containerd 1.6's shims name it:
// unix:///run/containerd/s/<hex sha256 of "<containerd address>/<namespace>/<id>">, so the
// path is short enough for sun_path whatever the id, and the same on every start.
#pragma once

#include <string>

#include "common/unique_fd.h"

namespace kvrun::containerd {

inline constexpr const char* kSocketDir = "/run/containerd/s";

// "unix://<path>".
std::string shim_socket_address(const std::string& containerd_address, const std::string& ns,
                                const std::string& id);
// The path in a "unix://" address; throws Error for anything else.
std::string socket_path(const std::string& address);
// Creates the directory (0700), binds and listens (socket mode 0600). Throws Error; errno
// EADDRINUSE is kept in the message.
UniqueFd listen_unix(const std::string& path);
// True if something accepts connections at path.
bool can_connect(const std::string& path);

}  // namespace kvrun::containerd
