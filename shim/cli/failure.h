// A failed kvrun command's exit status (docs/cli.md "Errors"). Its code reaches the containerd
// shim in the log instead (logging.h, log_failure).
#pragma once

#include "common/error_code.h"
#include "shim/cli/globals.h"

namespace kvrun::cli {

// The one mapping from a failure's code to kvrun's exit status. runc exits 1 for every error,
// and 255 from `exec` when it could not run the process (1 may be the process's own status);
// podman, containerd's runc shim and the conformance tests compare those, so every code keeps
// runc's status.
ExitStatus exit_status_for(ErrorCode code, bool exec);

}  // namespace kvrun::cli
