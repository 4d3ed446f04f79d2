// Running a helper program (mkfs.erofs, ...) to completion with its output captured, so a
// failure can be reported in one line with the tool's own reason.
#pragma once

#include <string>
#include <vector>

namespace kvrun::shim {

struct CommandResult {
  int status = 0;      // exit code, or 128 + signal
  std::string output;  // stdout and stderr interleaved, at most 64 KiB kept
};

// Runs argv[0] (looked up in PATH) with stdin from /dev/null. Throws Error if it cannot start.
CommandResult run_command(const std::vector<std::string>& argv);

// The last non-empty line of a tool's output, for one-line error messages.
std::string last_line(const std::string& output);

}  // namespace kvrun::shim
