// kill, exec, pause, resume, update: acting on a running container through its agent.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "shim/cli/globals.h"

namespace kvrun::cli {

void kill_container(const Globals& globals, const std::string& id, const std::string& signal,
                    bool all);

struct ExecOptions {
  std::string id;
  std::string process_file;  // --process: an OCI process object
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;  // uid[:gid]
  bool tty = false;
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
  std::string exec_id;  // the agent's id for the process; empty: a new random one
};

// The process JSON sent to the agent: --process as given, or the container's own process
// (env, cwd, user, capabilities...) with args/env/cwd/user replaced as the flags say.
nlohmann::json exec_process(const nlohmann::json& container_process, const ExecOptions& options);

// Runs the process in a host process of its own (an exec monitor: relays stdio, exits with the
// process's status). Detached: returns 0 once the process runs, its PID in --pid-file; else
// waits and returns the process's exit status.
ExitStatus exec_in_container(const Globals& globals, const ExecOptions& options);

void pause_container(const Globals& globals, const std::string& id, bool pause);

// New cgroup limits inside the sandbox: `resources_file` ("-" = stdin) holds a runtime-spec
// linux.resources object; the limits it names replace the container's. The VM's own size
// (memory, vCPUs) stays as it was booted.
void update_container(const Globals& globals, const std::string& id,
                      const std::string& resources_file);

}  // namespace kvrun::cli
