// The conformance tables: what a container observes of its spec, and what the lifecycle
// commands answer, each row run through runc (the reference) and kvrun. A row is one line.
#pragma once

#include <string>
#include <vector>

namespace kvrun::e2e::conformance {

// Rows of one group share one container per runtime (one VM boot in the VM variant).
enum class Group { kRoot, kUser };

struct Observation {
  const char* name;
  Group group;
  // JSON merged into the group's config.json: objects merge, arrays append, so rows that touch
  // the same list (mounts, env, maskedPaths) add to it.
  const char* patch;
  // busybox sh in the container; what it prints (stdout and stderr) is the observation.
  const char* probe;
  // Null: kvrun must print what runc prints. Else kvrun's documented answer, and why it differs.
  const char* kvrun_prints = nullptr;
  const char* why = nullptr;
  bool in_vm = true;  // also compared in the VM variant
  // Null: in a VM sandbox kvrun prints what it prints in a host sandbox. Else its answer there,
  // and the VM's reason.
  const char* vm_prints = nullptr;
  const char* vm_why = nullptr;
};

// The container's status before the command.
enum class From { kMissing, kCreated, kRunning, kPaused, kStopped };
const char* to_string(From from);

// What a lifecycle command answered: its exit status, the gist of its error (runc's msg=...,
// kvrun's message; empty without an error) and the container's status afterwards ("absent"
// when `state` does not find it).
struct Answer {
  int status = 0;
  std::string error{};
  std::string after{};
  std::string out{};  // stdout, of which `state`'s JSON is compared
};

struct LifecycleCell {
  From from;
  // kvrun / runc arguments, "@" standing for the container's id.
  const char* command;
  // Null: kvrun answers as runc does. Else why not; `kvrun` is then its answer (the error is
  // matched as a substring).
  const char* why = nullptr;
  Answer kvrun{};
};

// A walk: commands in turn on one container, created at first (the VM variant: one boot each).
struct LifecycleStep {
  const char* command;
  const char* why = nullptr;  // as in LifecycleCell
  Answer kvrun{};
};
using LifecycleWalk = std::vector<LifecycleStep>;

const std::vector<Observation>& observations();
const std::vector<LifecycleCell>& lifecycle_cells();
const std::vector<LifecycleWalk>& lifecycle_walks();

}  // namespace kvrun::e2e::conformance
