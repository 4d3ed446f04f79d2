// Typed host -> agent requests and agent -> host replies (docs/agent-protocol.md).
//
//   request: {"version":1,"id":N,"type":"CreateContainer","body":{...}}
//   reply:   {"id":N,"ok":true,"body":{...}}
//        or  {"id":N,"ok":false,"code":"not_found","error":"<one line>"}
//
// Each request struct names its wire type (kName) and the type of its reply (Reply, replies.h).
//
// Decoding is strict: unknown types, unknown fields, missing fields and out-of-range values are
// errors that name the field. OCI objects (config, process) are only checked to be objects here;
// the agent's spec parser owns their contents.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/error.h"
#include "protocol/network_messages.h"
#include "protocol/replies.h"

namespace kvrun::protocol {

// 2: error replies carry a code.
inline constexpr std::int64_t kProtocolVersion = 2;

struct Ping {
  static constexpr std::string_view kName = "Ping";
  using Reply = PingReply;
};

// A small host file that a bind mount of the config names, shipped with the request because a
// VM cannot see host paths: the agent writes content to a file of its own and makes it the
// source of config.mounts[mount_index] (only with an inline config).
struct FileCopy {
  std::size_t mount_index = 0;
  std::string content;
  bool operator==(const FileCopy&) const = default;
};

// Exactly one of bundle_path (a directory holding config.json) and config (an inline OCI
// config) is set. rootfs overrides config's root.path; relative root paths resolve against the
// bundle.
struct CreateContainer {
  static constexpr std::string_view kName = "CreateContainer";
  using Reply = ProcessStarted;
  std::string container_id;
  std::optional<std::string> bundle_path;
  std::optional<nlohmann::json> config;
  std::optional<std::string> rootfs;
  bool stdin = false;  // false: the process reads /dev/null
  // The rootfs becomes the read-only lower layer of an overlay whose upper layer is fresh
  // scratch space, discarded with the container.
  bool overlay = false;
  // Join the sandbox's shared namespaces (CreateSandbox) wherever the config names a namespace
  // of a shared type by path: such host paths mean nothing in the guest.
  bool sandbox = false;
  // Join the network namespace that ConfigureNetwork configured wherever the config names a
  // network namespace by path (a host path: its interface is now the guest's). A network entry
  // without a path still gets a new namespace with loopback only.
  bool network = false;
  std::vector<FileCopy> files;
  // The bundle directory as the runtime-spec state names it (the host's), for the state the
  // startContainer hooks read; never opened. Absent: bundle_path.
  std::optional<std::string> state_bundle;
};

struct StartContainer {
  static constexpr std::string_view kName = "StartContainer";
  using Reply = EmptyReply;
  std::string container_id;
};

struct ExecProcess {
  static constexpr std::string_view kName = "ExecProcess";
  using Reply = ProcessStarted;
  std::string container_id;
  std::string exec_id;
  nlohmann::json process;  // an OCI "process" object
  bool stdin = false;
};

// exec_id "" names the container's init process. all: every process of the container instead
// (its cgroup, or else its own PID namespace), like `runc kill --all`; exec_id must then be "".
struct SignalProcess {
  static constexpr std::string_view kName = "SignalProcess";
  using Reply = EmptyReply;
  std::string container_id;
  std::string exec_id;
  int signal = 0;
  bool all = false;
};

// The container's live processes with the agent's (guest) pids and their command lines.
struct ListProcesses {
  static constexpr std::string_view kName = "ListProcesses";
  using Reply = ProcessList;
  std::string container_id;
};

// Kills and removes every container, replies, then ends the agent: as PID 1 the VM powers off
// with status 0 once the client has closed the connection (or after a short grace period).
struct DestroySandbox {
  static constexpr std::string_view kName = "DestroySandbox";
  using Reply = EmptyReply;
};

// A pod: creates the namespaces its containers share (each of "network", "ipc", "uts" at most
// once), held by the agent until DestroySandbox. hostname needs "uts". One per agent.
struct CreateSandbox {
  static constexpr std::string_view kName = "CreateSandbox";
  using Reply = EmptyReply;
  std::string sandbox_id;
  std::optional<std::string> hostname;
  std::vector<std::string> shared;
};

struct WaitProcess {
  static constexpr std::string_view kName = "WaitProcess";
  using Reply = ProcessExited;
  std::string container_id;
  std::string exec_id;
};

struct RemoveContainer {
  static constexpr std::string_view kName = "RemoveContainer";
  using Reply = EmptyReply;
  std::string container_id;
  bool force = false;  // kill remaining processes instead of refusing
};

// Freezes / thaws every process of the container (cgroup v2 freezer).
struct PauseContainer {
  static constexpr std::string_view kName = "PauseContainer";
  using Reply = EmptyReply;
  std::string container_id;
};
struct ResumeContainer {
  static constexpr std::string_view kName = "ResumeContainer";
  using Reply = EmptyReply;
  std::string container_id;
};

// Usage from the container's cgroup: memory, cpu, pids (docs/agent-protocol.md).
struct StatsContainer {
  static constexpr std::string_view kName = "StatsContainer";
  using Reply = ContainerStats;
  std::string container_id;
};

// New cgroup limits for a container: a runtime-spec linux.resources object whose fields replace
// the container's (those it lacks stay as they are).
struct UpdateContainer {
  static constexpr std::string_view kName = "UpdateContainer";
  using Reply = EmptyReply;
  std::string container_id;
  nlohmann::json resources;
};

// Replied when a process of some container is killed for lack of memory (now, if such a kill is
// queued). Each kill is reported once, to one waiter.
struct GetOomEvent {
  static constexpr std::string_view kName = "GetOomEvent";
  using Reply = OomKilled;
};

// Window size of a process's terminal (processes with "terminal": true).
struct ResizePty {
  static constexpr std::string_view kName = "ResizePty";
  using Reply = EmptyReply;
  std::string container_id;
  std::string exec_id;
  int rows = 0;
  int cols = 0;
};

enum class StdioStream { kStdin, kStdout, kStderr };
std::string_view to_string(StdioStream stream);

// First and only message on a stdio connection; after the ok reply the connection carries raw
// bytes of that stream (see docs/agent-protocol.md).
struct AttachStdio {
  static constexpr std::string_view kName = "AttachStdio";
  using Reply = EmptyReply;
  std::string container_id;
  std::string exec_id;
  StdioStream stream = StdioStream::kStdout;
};

using RequestBody = std::variant<Ping, CreateContainer, StartContainer, ExecProcess, SignalProcess,
                                 WaitProcess, RemoveContainer, AttachStdio, PauseContainer,
                                 ResumeContainer, StatsContainer, GetOomEvent, ResizePty,
                                 ListProcesses, DestroySandbox, CreateSandbox, ConfigureNetwork,
                                 UpdateContainer>;

struct Request {
  std::uint64_t id = 0;
  RequestBody body;
};

// A request that could not be decoded. id() is the request's id when the envelope had a valid
// one, else 0, so the error reply can still be matched.
class RequestError : public Error {
 public:
  RequestError(std::uint64_t id, const std::string& message) : Error(message), id_(id) {}
  std::uint64_t id() const { return id_; }

 private:
  std::uint64_t id_;
};

// Throws RequestError (also for JSON that parse_untrusted_json refuses).
Request decode_request(std::string_view json_text);
std::string encode_request(const Request& request);
// The body's kName.
std::string_view type_name(const RequestBody& body);

std::string encode_ok(std::uint64_t id, const nlohmann::json& body = nlohmann::json::object());
// The message is flattened to one line.
std::string encode_error(std::uint64_t id, ErrorCode code, std::string_view message);
// Throws JsonError (untrusted_json.h) for text too large, too deeply nested, not UTF-8 or not
// JSON, Error for a malformed envelope. An error reply's text becomes one line of at most 4 KiB
// without control characters; a code this build does not know, or none (agents of version 1),
// is kInternal. Which request it answers, and its body, are checked by decode_reply_for
// (replies.h).
ReplyEnvelope decode_reply(std::string_view json_text);

// Container and exec ids become path components (cgroups, state), so they are restricted to
// [A-Za-z0-9_.-], 1..64 characters, not starting with '.'. Throws Error naming `field`.
void check_id(std::string_view id, std::string_view field, bool allow_empty);

}  // namespace kvrun::protocol
