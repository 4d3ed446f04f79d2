// The shim binary's three roles (containerd's shim v2 contract):
//   start   — create the socket, launch the daemon on it, write <bundle>/address, print the
//             address and exit; an already serving shim for the same id is reused, and a
//             pod's container is pointed at its sandbox container's shim
//   (none)  — the daemon: serve the Task service on fd 3 until Shutdown (for its own task and
//             those of the pod it heads)
//   delete  — clean up after a dead daemon and print a DeleteResponse on stdout
#pragma once

#include <filesystem>
#include <string>

#include "shim/containerd/flags.h"

namespace kvrun::containerd {

// kvrun's --root for a namespace: $KVRUN_CONTAINERD_ROOT (default /run/containerd/kvrun)/<ns>.
std::filesystem::path kvrun_root_for(const std::string& ns);

// Each returns the process's exit status; errors are thrown as Error.
int start_shim(const ShimFlags& flags, const std::string& self);
int run_daemon(const ShimFlags& flags);
int delete_shim(const ShimFlags& flags);

}  // namespace kvrun::containerd
