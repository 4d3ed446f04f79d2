// What each kind of request is answered with (docs/agent-protocol.md), as types, decoded once on
// the host before anyone reads a reply: the agent is a guest's process. Each request struct
// (messages.h) names its reply type as R::Reply; decode_reply_for<R> turns the reply envelope
// into it. A reply that names another request's id, or whose body is not of its request's kind
// (a WaitProcess answered with a pid, an exit status of "0" or 1e9, a field nobody knows), is a
// ReplyError naming the field, an error reply is an AgentError with the agent's code, and no
// nlohmann exception escapes: callers read plain fields without a check of their own.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/error_code.h"
#include "protocol/agent_error.h"

namespace kvrun::protocol {

// {"id":N,"ok":true,"body":{...}} or {"id":N,"ok":false,"code":"...","error":"..."}, checked
// for its shape only (decode_reply in messages.h): its body is read by decode_reply_for.
struct ReplyEnvelope {
  std::uint64_t id = 0;
  bool ok = false;
  nlohmann::json body = nlohmann::json::object();
  ErrorCode code = ErrorCode::kInternal;
  std::string error;
};

// {} : most requests.
struct EmptyReply {};

// Ping.
struct PingReply {
  std::int64_t version = 0;
};

// CreateContainer, ExecProcess: the agent's (guest) pid of the new process.
struct ProcessStarted {
  int pid = 0;
};

// WaitProcess: the exit code, or 128 + signal.
struct ProcessExited {
  int exit_status = 0;
};

// GetOomEvent: a process of this container was killed for lack of memory.
struct OomKilled {
  std::string container_id;
};

// ListProcesses.
struct ProcessInfo {
  int pid = 0;
  std::optional<std::string> exec_id;  // "" the init, absent: not started by the agent
  std::vector<std::string> args;
};
struct ProcessList {
  std::vector<ProcessInfo> processes;
};

// StatsContainer. A group or count the cgroup cannot tell is absent.
struct ContainerStats {
  struct Memory {
    std::optional<std::uint64_t> current, max, oom, oom_kill;
  };
  struct Cpu {
    std::optional<std::uint64_t> usage_usec, user_usec, system_usec;
  };
  struct Pids {
    std::optional<std::uint64_t> current, max;
  };
  std::optional<Memory> memory;
  std::optional<Cpu> cpu;
  std::optional<Pids> pids;
};

class ReplyError : public Error {
 public:
  enum class Kind { kWrongId, kWrongKind };
  ReplyError(Kind kind, const std::string& message) : Error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// Each reads body strictly into out (unknown fields refused); throws
// ReplyError(kWrongKind, "<type>: <field>: ...").
void decode_reply_body(std::string_view type, const nlohmann::json& body, EmptyReply& out);
void decode_reply_body(std::string_view type, const nlohmann::json& body, PingReply& out);
void decode_reply_body(std::string_view type, const nlohmann::json& body, ProcessStarted& out);
void decode_reply_body(std::string_view type, const nlohmann::json& body, ProcessExited& out);
void decode_reply_body(std::string_view type, const nlohmann::json& body, OomKilled& out);
void decode_reply_body(std::string_view type, const nlohmann::json& body, ProcessList& out);
void decode_reply_body(std::string_view type, const nlohmann::json& body, ContainerStats& out);

// Throws ReplyError(kWrongId, "<type>: reply for request ...") unless reply.id == id.
void check_reply_id(std::string_view type, std::uint64_t id, const ReplyEnvelope& reply);

// The reply to request R with this id: throws ReplyError (another id, the wrong kind) or
// AgentError("<type>: <agent's error>", the agent's code).
template <typename R>
typename R::Reply decode_reply_for(std::uint64_t id, const ReplyEnvelope& reply) {
  check_reply_id(R::kName, id, reply);
  if (!reply.ok) throw AgentError(reply.code, std::string(R::kName) + ": " + reply.error);
  typename R::Reply out;
  decode_reply_body(R::kName, reply.body, out);
  return out;
}

}  // namespace kvrun::protocol
