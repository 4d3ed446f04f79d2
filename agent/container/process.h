// Process stage: working directory, environment and execve of the spec's program.
#pragma once

#include "spec/spec.h"

namespace kvrun::agent {

// Returns only by throwing Error("exec /bin/foo: No such file or directory"). A program name
// without '/' is searched in the PATH of the spec's environment, as execvp(3) would.
[[noreturn]] void exec_process(const spec::ProcessSpec& process);

}  // namespace kvrun::agent
