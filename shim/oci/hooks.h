// The spec's hooks (config.json "hooks") on the host: parsed with the bundle, kept in the state
// directory for `start` and `delete`, and run where kvrun runs each kind:
//   create  the monitor, once the container exists and waits for start (state "creating"):
//           prestart, createRuntime, createContainer (on the host, also the last one)
//   start   the agent, inside the container right before its process execs: startContainer
//           (spec/hooks.h); then the CLI: poststart (state "running")
//   delete  the CLI, once the container and its sandbox are gone: poststop (state "stopped");
//           also when create failed after the state directory was made, as runc does
// prestart, createRuntime, createContainer and startContainer failures fail their command;
// poststart and poststop failures are warnings (runtime-spec runtime.md, "Lifecycle").
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/oci_hook.h"
#include "shim/state/container_state.h"

namespace kvrun::oci {

struct Hooks {
  std::array<std::vector<Hook>, kHookKinds> lists;
  const std::vector<Hook>& of(HookKind kind) const { return lists[static_cast<std::size_t>(kind)]; }
  std::vector<Hook>& of(HookKind kind) { return lists[static_cast<std::size_t>(kind)]; }
  bool empty() const;
  bool operator==(const Hooks&) const = default;
};

// config["hooks"] (absent or null: none). Unknown kinds and fields are ignored, as the spec
// requires. Throws Error("config.json: hooks.createRuntime[0].path: must be an absolute path").
Hooks parse_hooks(const nlohmann::json& config);
// The spec's "hooks" object for these hooks (parse_hooks reads it back).
nlohmann::json hooks_json(const Hooks& hooks);

// The runtime-spec state a hook reads on stdin, as runc gives it: ociVersion, id, status, pid
// (absent once stopped), bundle, annotations (what `kvrun state` prints, without runc's
// rootfs/created/owner).
std::string hook_state(const state::ContainerState& container, state::Status status);
// The stopped state of a container that never got further than its state directory.
std::string stopped_hook_state(const std::string& id, const std::filesystem::path& bundle,
                               const std::map<std::string, std::string>& annotations);

// Runs kind's hooks in order on the host; the first failure throws its Error, the rest do not
// run.
void run_hooks(const Hooks& hooks, HookKind kind, const std::string& state);
// For poststart and poststop: a failure is logged as a warning and the remaining hooks run.
void run_hooks_warn_only(const Hooks& hooks, HookKind kind, const std::string& state);
// create's hooks in the spec's order: prestart (deprecated, first as in runc), createRuntime,
// createContainer.
void run_create_hooks(const Hooks& hooks, const std::string& state);

// A create that fails once the container is begun ends with the poststop hooks, after its
// cleanup, as the spec's lifecycle (and runc) has it: declare this before the cleanup guards so
// it is destroyed after them. release() when create succeeded.
class PoststopOnFailure {
 public:
  PoststopOnFailure(Hooks hooks, std::string state)
      : hooks_(std::move(hooks)), state_(std::move(state)) {}
  PoststopOnFailure(const PoststopOnFailure&) = delete;
  PoststopOnFailure& operator=(const PoststopOnFailure&) = delete;
  ~PoststopOnFailure();
  void release() { released_ = true; }

 private:
  Hooks hooks_;
  std::string state_;
  bool released_ = false;
};

// <state dir>/hooks.json, written by create (nothing when there are no hooks), read by start and
// delete: the bundle may have changed or gone by then.
void save_hooks(const std::filesystem::path& dir, const Hooks& hooks);
// No file: no hooks. Throws Error naming the file if it is damaged.
Hooks load_saved_hooks(const std::filesystem::path& dir);

}  // namespace kvrun::oci
