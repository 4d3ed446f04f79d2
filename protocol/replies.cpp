#include "protocol/replies.h"

#include <type_traits>

#include "protocol/json_reader.h"

namespace kvrun::protocol {
namespace {

constexpr std::int64_t kMaxPid = INT32_MAX;

void check_counts(JsonReader& body, std::string_view group,
                  std::initializer_list<std::string_view> names) {
  const nlohmann::json* value = body.optional_object(group);
  if (value == nullptr) return;
  JsonReader counts(*value, body.path_of(group));
  for (auto name : names) counts.optional_unsigned(name);  // null: the cgroup cannot tell
  counts.reject_unknown();
}

void check_process_list(JsonReader& body) {
  const nlohmann::json& list = body.array("processes");
  for (std::size_t i = 0; i < list.size(); ++i) {
    JsonReader entry(list[i], element_path(body.path_of("processes"), i));
    entry.integer("pid", 1, kMaxPid);
    if (auto exec_id = entry.optional_string("exec_id"))
      check_id(*exec_id, entry.path_of("exec_id"), true);
    entry.string_array("args");
    entry.reject_unknown();
  }
}

// Reads every field the request's kind of reply has; leaves unknown ones for reject_unknown().
void check_body(const RequestBody& request, JsonReader& body) {
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Ping>) {
          body.integer("version", 0, INT32_MAX);
        } else if constexpr (std::is_same_v<T, CreateContainer> || std::is_same_v<T, ExecProcess>) {
          body.integer("pid", 1, kMaxPid);
        } else if constexpr (std::is_same_v<T, WaitProcess>) {
          body.integer("exit_status", 0, 255);
        } else if constexpr (std::is_same_v<T, GetOomEvent>) {
          check_id(body.string("container_id"), body.path_of("container_id"), false);
        } else if constexpr (std::is_same_v<T, ListProcesses>) {
          check_process_list(body);
        } else if constexpr (std::is_same_v<T, StatsContainer>) {
          check_counts(body, "memory", {"current", "max", "oom", "oom_kill"});
          check_counts(body, "cpu", {"usage_usec", "user_usec", "system_usec"});
          check_counts(body, "pids", {"current", "max"});
        }
        // Every other request is answered with {}.
      },
      request);
}

}  // namespace

void check_reply(const Request& request, const Reply& reply) {
  std::string type(type_name(request.body));
  if (reply.id != request.id) {
    throw ReplyError(ReplyError::Kind::kWrongId, type + ": reply for request " +
                                                     std::to_string(reply.id) + " instead of " +
                                                     std::to_string(request.id));
  }
  if (!reply.ok) return;
  try {
    JsonReader body(reply.body, "reply.body");
    check_body(request.body, body);
    body.reject_unknown();
  } catch (const Error& e) {
    throw ReplyError(ReplyError::Kind::kWrongKind, type + ": " + e.what());
  }
}

int exit_status_of(const Reply& reply) { return reply.body.at("exit_status").get<int>(); }

}  // namespace kvrun::protocol
