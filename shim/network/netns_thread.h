// Work inside another network namespace without moving the process: a short-lived thread
// setns()es into it, runs the function and ends, so no thread of ours stays switched.
#pragma once

#include <filesystem>
#include <functional>

namespace kvrun::network {

// Runs fn in the network namespace at `netns` (/run/netns/X, /proc/PID/ns/net) and rethrows
// what it throws. Throws Error naming the path when it cannot be entered.
void run_in_netns(const std::filesystem::path& netns, const std::function<void()>& fn);

// True when `netns` no longer names a network namespace (path gone, or a stale file whose nsfs
// mount was removed): what a CNI teardown before ours leaves behind.
bool netns_gone(const std::filesystem::path& netns);

}  // namespace kvrun::network
