// The exec monitor: one host process per `kvrun exec`, forked by the CLI. It starts the process
// through the container's agent (ExecProcess), runs its session (process_session.h) and exits
// with the process's exit status, which is what the CLI, conmon and containerd's shim wait for.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "shim/sandbox/process_session.h"

namespace kvrun::sandbox {

struct ExecMonitorConfig {
  std::string container_id;
  std::string exec_id;
  nlohmann::json process;      // the OCI process object sent to the agent
  std::string console_socket;  // process.terminal: where the pty master goes ("" = fds 0/1)
  int ready_fd = -1;           // from fork_monitor() (monitor_process.h)
};

// Never returns: exits with the process's exit status (1 when it could not be started, after
// reporting why on ready_fd). `connect` opens a new connection to the container's agent.
[[noreturn]] void run_exec_monitor(const ExecMonitorConfig& config,
                                   const ProcessSession::Connect& connect);

}  // namespace kvrun::sandbox
