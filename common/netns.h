// Running a piece of code inside another network namespace without moving the process (the
// VMM opens taps there, the shim sets up a container's network there).
#pragma once

#include <filesystem>
#include <functional>

namespace kvrun {

// Runs `fn` on a short-lived thread that first joins the network namespace at `netns`
// (/run/netns/NAME or /proc/PID/ns/net). Only that thread switches, and it ends afterwards,
// so the caller's namespace is never touched; sockets and taps opened by `fn` stay bound to
// the namespace they were created in. Exceptions from `fn` are rethrown here.
// Throws kvrun::Error if the path cannot be opened or is not a network namespace.
void run_in_netns(const std::filesystem::path& netns, const std::function<void()>& fn);

}  // namespace kvrun
