// Starting a monitor: the host process `create` (the container's) and `exec` (one process's)
// leave behind, whose PID goes to --pid-file and whose exit status is the one engines wait for.
// The CLI forks it and returns only once the monitor has said that the container or process
// exists, so every error still reaches the caller as the command's one-line failure.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string_view>

#include "common/error_code.h"

namespace kvrun::host_cgroup {
class HostCgroup;
}

namespace kvrun::sandbox {

// Forks. The child runs body(ready_fd); body must end the process (it never returns) and
// report exactly once on ready_fd, with report_ready() or report_failure(). The parent waits for
// that report: returns the child's PID on success; on failure reaps the child and throws
// CodedError with the child's reason and code (or a generic internal one if it died without
// reporting).
pid_t fork_monitor(const std::function<void(int ready_fd)>& body);

// In the child, first: moves the monitor into the container's host cgroup, so the sandbox and
// every helper it starts run (and are limited) there. On failure reports it and exits.
void join_host_cgroup(const host_cgroup::HostCgroup& cgroup, int& ready_fd);

// In the child: the report ("ok", or "error <code> <reason>"), then the fd is closed. fd -1 is
// ignored.
void report_ready(int& ready_fd);
void report_failure(int& ready_fd, std::string_view reason, ErrorCode code = ErrorCode::kInternal);

}  // namespace kvrun::sandbox
