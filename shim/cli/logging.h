// kvrun's log: --log FILE (default stderr) in text or --log-format json, one object per line as
// podman and containerd parse it: {"level":"error","msg":"...","time":"2026-...Z"}.
#pragma once

#include <string>

namespace kvrun::cli {

// Installs the default spdlog logger. Throws Error if the file cannot be opened.
void setup_logging(const std::string& path, const std::string& format, bool debug);

}  // namespace kvrun::cli
