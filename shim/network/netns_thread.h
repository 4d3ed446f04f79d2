// Whether a network namespace path still names one (run_in_netns itself is in common/netns.h).
#pragma once

#include <filesystem>

namespace kvrun::network {

// True when `netns` no longer names a network namespace (path gone, or a stale file whose nsfs
// mount was removed): what a CNI teardown before ours leaves behind.
bool netns_gone(const std::filesystem::path& netns);

}  // namespace kvrun::network
