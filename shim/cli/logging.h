// kvrun's log: --log FILE (default stderr) in text or --log-format json, one object per line as
// podman and containerd parse it: {"level":"error","msg":"...","time":"2026-...Z"}.
#pragma once

#include <string>

#include "common/error_code.h"

namespace kvrun::cli {

// Installs the default spdlog logger. Throws Error if the file cannot be opened.
void setup_logging(const std::string& path, const std::string& format, bool debug);

// The command's failure, at level error: in the JSON format the line also names its code,
// {"level":"error","msg":"...","code":"not_found","time":"..."}, which the containerd shim acts
// on (docs/cli.md "Errors"); the text format's line is the same as spdlog::error's.
void log_failure(const std::string& message, ErrorCode code);

}  // namespace kvrun::cli
