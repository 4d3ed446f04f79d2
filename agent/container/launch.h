// Creating a container's processes: the agent side of each conversation with a child and, in
// launch.cpp, the child side as the visible sequence of stages
//   namespaces -> mounts -> pivot_root -> (wait for start) -> cgroups/security -> exec.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "agent/container/cgroups.h"
#include "agent/container/namespaces.h"
#include "agent/container/seccomp.h"
#include "agent/container/sync_channel.h"
#include "common/unique_fd.h"
#include "spec/spec.h"

namespace kvrun::agent {

// The child's ends of its standard streams (placeholders for a process with a terminal, whose
// 0-2 become the pty slave).
struct ChildStdio {
  UniqueFd in, out, err;
};

// A created, not yet started, container init. Its pid belongs to the caller from here on: the
// supervisor reaps it.
struct LaunchedInit {
  pid_t pid = -1;
  SyncChannel channel;  // agent end; kMsgStart releases the child into exec
  UniqueFd pty_master;  // process.terminal only
  // How long the exec may take once started: the startContainer hooks run before it.
  std::chrono::milliseconds start_timeout{0};
};

struct LaunchedExec {
  pid_t pid = -1;
  UniqueFd pty_master;  // process.terminal only
};

struct LaunchContext {
  const spec::ContainerSpec& spec;
  const std::string& rootfs;
  const Cgroup* cgroup;          // null: no cgroup (host mode)
  const SeccompFilter* seccomp;  // null: no profile
  // Namespaces joined through these descriptors instead of their spec paths (pods).
  const std::map<spec::NamespaceType, int>* namespace_fds = nullptr;
  // For the state startContainer hooks read (start_hooks.h).
  std::string_view container_id;
  std::string_view bundle;
};

// Runs the child up to "ready" (rootfs pivoted, waiting for start). Throws Error with the
// child's own one-line reason if any stage fails; the child is then killed and reaped.
LaunchedInit launch_init(const LaunchContext& context, ChildStdio stdio);

// Releases the init into its startContainer hooks and exec without waiting for either: the
// outcome arrives on init.channel (a message, or its end when the exec closes it).
void begin_start_init(LaunchedInit& init);

// Once init.channel is readable: returns if the exec happened, throws Error("exec /bin/foo:
// ...") or the failed hook's reason if not; the child then exits with status 127 and is left
// for the supervisor to reap. Closes the channel.
void finish_start_init(LaunchedInit& init);

// A new process inside the running container whose init is init_pid: joins its namespaces and
// cgroup, applies process's security context and execs. The returned pid is a child of the
// agent (so the supervisor reaps it). Throws Error on any failure, exec included.
LaunchedExec launch_exec(const LaunchContext& context, pid_t init_pid,
                         const spec::ProcessSpec& process, ChildStdio stdio);

// Exit status the way a shell reports it: code, or 128 + signal.
int exit_status_of(int wait_status);

}  // namespace kvrun::agent
