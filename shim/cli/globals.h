// Options every kvrun command shares, and helpers the command files use.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "common/unique_fd.h"
#include "shim/runtime/agent.h"
#include "shim/state/container_state.h"
#include "shim/state/state_dir.h"

namespace kvrun::cli {

struct Globals {
  std::string root = state::kDefaultRoot;
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  std::string kernel, initrd;
  std::string sandbox;                  // vm | host; default from KVRUN_SANDBOX, else vm
  std::string cache_dir;                // rootfs image cache; default /var/cache/kvrun/rootfs
  uint64_t sandbox_log_max_kib = 1024;  // cap of vmm.log / agent.log (shim/sandbox/capped_log.h)
  std::string sandbox_kind() const;
  std::filesystem::path rootfs_cache() const;
};

// A command's outcome: kvrun's exit status.
using ExitStatus = int;

// The commands reach a container's agent the one way the runtime layer has (runtime/agent.h).
using runtime::connect_to_agent;

// Writes the PID to path atomically (temporary file + rename), as runc does.
void write_pid_file(const std::filesystem::path& path, pid_t pid);

// "KILL", "SIGKILL", "9" -> 9; "0" -> 0 (kill(2)'s existence check, which runc passes on).
// Throws Error for anything else.
int parse_signal(const std::string& name);

}  // namespace kvrun::cli
