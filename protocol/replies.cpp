#include "protocol/replies.h"

#include "protocol/json_reader.h"
#include "protocol/messages.h"

namespace kvrun::protocol {
namespace {

constexpr std::int64_t kMaxPid = INT32_MAX;

// Runs read over the body and refuses what it left unread; every failure names the type.
template <typename Read>
void read_body(std::string_view type, const nlohmann::json& json, Read read) {
  try {
    JsonReader body(json, "reply.body");
    read(body);
    body.reject_unknown();
  } catch (const Error& e) {
    throw ReplyError(ReplyError::Kind::kWrongKind, std::string(type) + ": " + e.what());
  }
}

// A group of counts, each absent, null (the cgroup cannot tell) or an unsigned integer.
template <typename Group>
std::optional<Group> read_counts(
    JsonReader& body, std::string_view name,
    std::initializer_list<std::pair<std::string_view, std::optional<std::uint64_t> Group::*>>
        fields) {
  const nlohmann::json* value = body.optional_object(name);
  if (value == nullptr) return std::nullopt;
  JsonReader counts(*value, body.path_of(name));
  Group group;
  for (const auto& [key, member] : fields) group.*member = counts.optional_unsigned(key);
  counts.reject_unknown();
  return group;
}

}  // namespace

void decode_reply_body(std::string_view type, const nlohmann::json& body, EmptyReply&) {
  read_body(type, body, [](JsonReader&) {});
}

void decode_reply_body(std::string_view type, const nlohmann::json& body, PingReply& out) {
  read_body(type, body, [&](JsonReader& r) { out.version = r.integer("version", 0, INT32_MAX); });
}

void decode_reply_body(std::string_view type, const nlohmann::json& body, ProcessStarted& out) {
  read_body(type, body,
            [&](JsonReader& r) { out.pid = static_cast<int>(r.integer("pid", 1, kMaxPid)); });
}

void decode_reply_body(std::string_view type, const nlohmann::json& body, ProcessExited& out) {
  read_body(type, body, [&](JsonReader& r) {
    out.exit_status = static_cast<int>(r.integer("exit_status", 0, 255));
  });
}

void decode_reply_body(std::string_view type, const nlohmann::json& body, OomKilled& out) {
  read_body(type, body, [&](JsonReader& r) {
    out.container_id = r.string("container_id");
    check_id(out.container_id, r.path_of("container_id"), false);
  });
}

void decode_reply_body(std::string_view type, const nlohmann::json& body, ProcessList& out) {
  read_body(type, body, [&](JsonReader& r) {
    const nlohmann::json& list = r.array("processes");
    for (std::size_t i = 0; i < list.size(); ++i) {
      JsonReader entry(list[i], element_path(r.path_of("processes"), i));
      ProcessInfo info;
      info.pid = static_cast<int>(entry.integer("pid", 1, kMaxPid));
      info.exec_id = entry.optional_string("exec_id");
      if (info.exec_id) check_id(*info.exec_id, entry.path_of("exec_id"), true);
      info.args = entry.string_array("args");
      entry.reject_unknown();
      out.processes.push_back(std::move(info));
    }
  });
}

void decode_reply_body(std::string_view type, const nlohmann::json& body, ContainerStats& out) {
  using S = ContainerStats;
  read_body(type, body, [&](JsonReader& r) {
    out.memory = read_counts<S::Memory>(r, "memory",
                                        {{"current", &S::Memory::current},
                                         {"max", &S::Memory::max},
                                         {"oom", &S::Memory::oom},
                                         {"oom_kill", &S::Memory::oom_kill}});
    out.cpu = read_counts<S::Cpu>(r, "cpu",
                                  {{"usage_usec", &S::Cpu::usage_usec},
                                   {"user_usec", &S::Cpu::user_usec},
                                   {"system_usec", &S::Cpu::system_usec}});
    out.pids =
        read_counts<S::Pids>(r, "pids", {{"current", &S::Pids::current}, {"max", &S::Pids::max}});
  });
}

void check_reply_id(std::string_view type, std::uint64_t id, const ReplyEnvelope& reply) {
  if (reply.id != id) {
    throw ReplyError(ReplyError::Kind::kWrongId, std::string(type) + ": reply for request " +
                                                     std::to_string(reply.id) + " instead of " +
                                                     std::to_string(id));
  }
}

}  // namespace kvrun::protocol
