// Finding a container's processes when the agent did not start them all (a shell's background
// jobs, daemons): by PID namespace membership, and what each one runs (/proc/<pid>/cmdline).
// Cgroup membership is in cgroups.h. Pids are the agent's view: guest pids inside a VM.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace kvrun::agent {

// Every process whose PID namespace is member's (processes of nested PID namespaces are not
// included), sorted. Empty if member is gone.
std::vector<pid_t> pid_namespace_processes(pid_t member);

// argv of pid from /proc/<pid>/cmdline, cut after kMaxCmdlineBytes; empty for a zombie, a
// kernel thread or a pid that has gone.
inline constexpr std::size_t kMaxCmdlineBytes = 4096;
std::vector<std::string> process_args(pid_t pid);

}  // namespace kvrun::agent
