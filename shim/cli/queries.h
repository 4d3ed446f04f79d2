// state, list, ps: read-only views of the state directory.
#pragma once

#include <iosfwd>
#include <string>

#include "shim/cli/globals.h"

namespace kvrun::cli {

void print_state(const Globals& globals, const std::string& id, std::ostream& out);
void print_list(const Globals& globals, const std::string& format, bool quiet, std::ostream& out);
// A VM's processes are not host processes: the only host PID that stands for the container is
// its monitor's, so that is what ps reports (JSON: [pid]).
void print_ps(const Globals& globals, const std::string& id, const std::string& format,
              std::ostream& out);

}  // namespace kvrun::cli
