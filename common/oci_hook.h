// One OCI runtime-spec hook (config.json "hooks", runtime-spec config.md "POSIX-platform
// Hooks") and running it as the spec and runc do: the container's state JSON on its stdin, its
// stdout and stderr captured (bounded) for the error message, SIGKILL at its timeout. The host
// (shim/oci/hooks.h) and the guest's container init (startContainer, spec/hooks.h) each parse
// hooks with their own JSON reader, against the limits below, and run them here.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvrun {

// In the order the spec lists them; a kind's hooks run in the order of their array.
enum class HookKind {
  kPrestart,
  kCreateRuntime,
  kCreateContainer,
  kStartContainer,
  kPoststart,
  kPoststop,
};
inline constexpr std::size_t kHookKinds = 6;
// The spec's key: "createRuntime".
std::string_view hook_kind_name(HookKind kind);

// Every byte of a spec is hostile: counts and sizes are bounded before anything is run.
inline constexpr std::size_t kMaxHooksPerKind = 64;
inline constexpr std::size_t kMaxHookArgs = 256;          // entries of args, and of env
inline constexpr std::size_t kMaxHookStringBytes = 4096;  // path, each arg, each env entry
inline constexpr std::int64_t kMaxHookTimeoutSeconds = 86400;
// A startContainer hook runs in the guest while the agent waits for the container's exec, so it
// always has a limit: its own timeout, else this one.
inline constexpr std::chrono::seconds kDefaultStartContainerHookTimeout{60};

struct Hook {
  std::string path;               // absolute; executed as it is, never searched in PATH
  std::vector<std::string> args;  // execv's argv, argv[0] included; empty: {path}
  // Absent: the caller's own environment, as runc does (Go's exec.Cmd with a nil Env).
  std::optional<std::vector<std::string>> env;
  std::optional<std::chrono::seconds> timeout;  // absent: none
  bool operator==(const Hook&) const = default;
};

// What all of a container's startContainer hooks may take, with that default.
std::chrono::seconds start_container_hooks_budget(const std::vector<Hook>& hooks);

// The checks both parsers share, after their readers have checked the JSON types. Throws
// Error("<field>.path: must be an absolute path") and the like; `field` is the hook's path in the
// config ("config.json: hooks.createRuntime[0]").
void check_hook(const Hook& hook, const std::string& field);

// Runs the hook with `state` on its stdin and waits until it exits, or until its timeout
// (`timeout` if the hook has none; neither: no limit), when it is killed with SIGKILL. Returns
// when it exited with status 0. Otherwise throws Error("<name> <path>: exit status 3; stderr:
// <its last output>") (or "... did not finish within its timeout of 2 s", or "... exec: <errno
// text>"). The hook dies with the calling thread (PR_SET_PDEATHSIG) and inherits its working
// directory; stdout and stderr are kept only in the message, at most 1 KiB of each (the end).
// Safe to call from a multithreaded process: the child only makes async-signal-safe calls.
void run_hook(const Hook& hook, std::string_view state, const std::string& name,
              std::optional<std::chrono::seconds> timeout = std::nullopt);

}  // namespace kvrun
