// state, list, ps: read-only views of the state directory (and, for ps, of the agent).
#pragma once

#include <iosfwd>
#include <string>

#include "shim/cli/globals.h"

namespace kvrun::cli {

void print_state(const Globals& globals, const std::string& id, std::ostream& out);
void print_list(const Globals& globals, const std::string& format, bool quiet, std::ostream& out);
// The container's processes as its agent lists them: a VM's are not host processes, so these
// are guest PIDs (JSON: [pid, ...] as runc prints; table: PID and command line).
void print_ps(const Globals& globals, const std::string& id, const std::string& format,
              std::ostream& out);

}  // namespace kvrun::cli
