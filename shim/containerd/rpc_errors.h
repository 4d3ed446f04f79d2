// kvrun's error codes (common/error_code.h) as the ttrpc status codes containerd turns into its
// error kinds: the one place the shim decides what a failure of kvrun or of the agent means to
// containerd. A NotFound for a signal or a resize tells containerd the process has gone, as
// containerd's checkKillError makes of runc's "container not running".
#pragma once

#include <exception>

#include "common/error_code.h"
#include "shim/containerd/ttrpc/status.h"

namespace kvrun::containerd {

// not_found: NotFound, already_exists: AlreadyExists, invalid_argument: InvalidArgument,
// failed_precondition: FailedPrecondition, internal: Unknown (what runc's shim answers for an
// error it cannot place).
ttrpc::Code rpc_code(ErrorCode code);

// e as an RpcError: its own code if it is one, else rpc_code(code_of(e)), with e's message.
[[noreturn]] void throw_rpc_error(const std::exception& e);

}  // namespace kvrun::containerd
