// create, start, run, delete: the container's life from bundle to cleanup.
#pragma once

#include <sys/types.h>

#include <string>

#include "shim/cli/globals.h"

namespace kvrun::cli {

struct CreateOptions {
  std::string id;
  std::string bundle = ".";
  std::string pid_file;
  std::string console_socket;
};

// Validates the bundle, prepares the rootfs image, forks the monitor and waits until the
// container exists (created, not started). Returns the monitor's PID. On failure nothing is left
// behind (state directory, sandbox).
pid_t create_container(const Globals& globals, const CreateOptions& options);
void start_container(const Globals& globals, const std::string& id);
// Without force only created or stopped containers; force kills a running (or hung) one.
void delete_container(const Globals& globals, const std::string& id, bool force);
// create + start; unless detached, forwards signals to the container, waits, deletes it (unless
// keep) and returns the container's exit status.
ExitStatus run_container(const Globals& globals, const CreateOptions& options, bool detach,
                         bool keep);

}  // namespace kvrun::cli
