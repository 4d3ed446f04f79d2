// Telling whether a PID still names the process we started: PIDs are reused, so a PID is only
// trusted together with its start time (field 22 of /proc/<pid>/stat, in clock ticks since boot).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace kvrun::state {

// nullopt when the process does not exist (or is a zombie already reaped).
std::optional<std::uint64_t> process_start_time(pid_t pid);

// True when pid exists, has the given start time and is not a zombie.
bool process_alive(pid_t pid, std::uint64_t start_time);

}  // namespace kvrun::state
