#include "protocol/messages.h"

#include <algorithm>
#include <csignal>
#include <cstdint>

#include "protocol/json_reader.h"
#include "protocol/untrusted_json.h"

namespace kvrun::protocol {
namespace {

constexpr std::size_t kMaxIdLength = 64;
// Bounds a FileCopy's mount index (the agent also checks it against the config).
constexpr std::size_t kMaxMounts = 1024;
// An agent's error line is shown to users and logged: long enough for any path and errno text.
constexpr std::size_t kMaxErrorLength = 4096;

std::string read_id(JsonReader& body, std::string_view key, bool allow_empty) {
  std::string id = allow_empty ? body.optional_string(key).value_or("") : body.string(key);
  check_id(id, body.path_of(key), allow_empty);
  return id;
}

// What sethostname takes (at most 64 bytes), restricted to the characters of a DNS name.
void check_hostname(const std::string& name, const std::string& path) {
  bool valid =
      !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '.';
      });
  if (!valid) throw Error(path + ": must be 1-64 characters of [A-Za-z0-9.-]");
}

StdioStream parse_stream(const std::string& name, const std::string& path) {
  if (name == "stdin") return StdioStream::kStdin;
  if (name == "stdout") return StdioStream::kStdout;
  if (name == "stderr") return StdioStream::kStderr;
  throw Error(path + ": expected one of \"stdin\", \"stdout\", \"stderr\", got \"" + name + "\"");
}

RequestBody decode_body(std::string_view type, JsonReader& body) {
  if (type == Ping::kName) return Ping{};
  if (type == CreateContainer::kName) {
    CreateContainer m;
    m.container_id = read_id(body, "container_id", false);
    m.bundle_path = body.optional_string("bundle_path");
    if (const auto* config = body.optional_object("config")) m.config = *config;
    if (m.bundle_path.has_value() == m.config.has_value()) {
      throw Error("body: exactly one of body.bundle_path and body.config is required");
    }
    m.rootfs = body.optional_string("rootfs");
    m.stdin = body.optional_boolean("stdin").value_or(false);
    m.overlay = body.optional_boolean("overlay").value_or(false);
    m.sandbox = body.optional_boolean("sandbox").value_or(false);
    m.network = body.optional_boolean("network").value_or(false);
    m.state_bundle = body.optional_string("state_bundle");
    if (const auto* files = body.optional_array("files")) {
      if (!m.config) throw Error("body.files: needs body.config");
      for (std::size_t i = 0; i < files->size(); ++i) {
        JsonReader file((*files)[i], element_path(body.path_of("files"), i));
        m.files.push_back({static_cast<std::size_t>(file.unsigned_integer("mount", kMaxMounts - 1)),
                           file.string("content")});
        file.reject_unknown();
      }
    }
    return m;
  }
  if (type == StartContainer::kName) return StartContainer{read_id(body, "container_id", false)};
  if (type == ExecProcess::kName) {
    ExecProcess m;
    m.container_id = read_id(body, "container_id", false);
    m.exec_id = read_id(body, "exec_id", false);
    m.process = body.object("process");
    m.stdin = body.optional_boolean("stdin").value_or(false);
    return m;
  }
  if (type == SignalProcess::kName) {
    SignalProcess m;
    m.container_id = read_id(body, "container_id", false);
    m.exec_id = read_id(body, "exec_id", true);
    m.signal = static_cast<int>(body.integer("signal", 1, SIGRTMAX));
    m.all = body.optional_boolean("all").value_or(false);
    if (m.all && !m.exec_id.empty()) {
      throw Error("body.all: cannot be combined with body.exec_id (it signals every process)");
    }
    return m;
  }
  if (type == WaitProcess::kName) {
    return WaitProcess{read_id(body, "container_id", false), read_id(body, "exec_id", true)};
  }
  if (type == RemoveContainer::kName) {
    RemoveContainer m;
    m.container_id = read_id(body, "container_id", false);
    m.force = body.optional_boolean("force").value_or(false);
    return m;
  }
  if (type == AttachStdio::kName) {
    AttachStdio m;
    m.container_id = read_id(body, "container_id", false);
    m.exec_id = read_id(body, "exec_id", true);
    m.stream = parse_stream(body.string("stream"), body.path_of("stream"));
    return m;
  }
  if (type == PauseContainer::kName) return PauseContainer{read_id(body, "container_id", false)};
  if (type == ResumeContainer::kName) return ResumeContainer{read_id(body, "container_id", false)};
  if (type == StatsContainer::kName) return StatsContainer{read_id(body, "container_id", false)};
  if (type == UpdateContainer::kName) {
    return UpdateContainer{read_id(body, "container_id", false), body.object("resources")};
  }
  if (type == GetOomEvent::kName) return GetOomEvent{};
  if (type == ListProcesses::kName) return ListProcesses{read_id(body, "container_id", false)};
  if (type == DestroySandbox::kName) return DestroySandbox{};
  if (type == CreateSandbox::kName) {
    CreateSandbox m;
    m.sandbox_id = read_id(body, "sandbox_id", false);
    m.hostname = body.optional_string("hostname");
    m.shared = body.string_array("shared");
    for (std::size_t i = 0; i < m.shared.size(); ++i) {
      std::string path = element_path(body.path_of("shared"), i);
      const std::string& name = m.shared[i];
      if (name != "network" && name != "ipc" && name != "uts") {
        throw Error(path + ": expected one of \"network\", \"ipc\", \"uts\", got \"" + name + "\"");
      }
      if (std::find(m.shared.begin(), m.shared.begin() + static_cast<std::ptrdiff_t>(i), name) !=
          m.shared.begin() + static_cast<std::ptrdiff_t>(i)) {
        throw Error(path + ": \"" + name + "\" listed twice");
      }
    }
    if (m.hostname) {
      check_hostname(*m.hostname, body.path_of("hostname"));
      if (std::find(m.shared.begin(), m.shared.end(), "uts") == m.shared.end()) {
        throw Error(body.path_of("hostname") + ": needs \"uts\" in body.shared");
      }
    }
    return m;
  }
  if (type == ConfigureNetwork::kName) return decode_configure_network(body);
  if (type == ResizePty::kName) {
    ResizePty m;
    m.container_id = read_id(body, "container_id", false);
    m.exec_id = read_id(body, "exec_id", true);
    m.rows = static_cast<int>(body.integer("rows", 1, UINT16_MAX));
    m.cols = static_cast<int>(body.integer("cols", 1, UINT16_MAX));
    return m;
  }
  throw Error("type: unknown request type \"" + std::string(type) + "\"");
}

nlohmann::json encode_body(const RequestBody& body) {
  return std::visit(
      [](const auto& m) -> nlohmann::json {
        using T = std::decay_t<decltype(m)>;
        nlohmann::json j = nlohmann::json::object();
        if constexpr (std::is_same_v<T, Ping>) {
        } else if constexpr (std::is_same_v<T, CreateContainer>) {
          j["container_id"] = m.container_id;
          if (m.bundle_path) j["bundle_path"] = *m.bundle_path;
          if (m.config) j["config"] = *m.config;
          if (m.rootfs) j["rootfs"] = *m.rootfs;
          j["stdin"] = m.stdin;
          j["overlay"] = m.overlay;
          if (m.sandbox) j["sandbox"] = true;  // absent otherwise: older agents reject it
          if (m.network) j["network"] = true;
          if (m.state_bundle) j["state_bundle"] = *m.state_bundle;
          if (!m.files.empty()) {
            j["files"] = nlohmann::json::array();
            for (const auto& file : m.files)
              j["files"].push_back({{"mount", file.mount_index}, {"content", file.content}});
          }
        } else if constexpr (std::is_same_v<T, StartContainer>) {
          j["container_id"] = m.container_id;
        } else if constexpr (std::is_same_v<T, ExecProcess>) {
          j["container_id"] = m.container_id;
          j["exec_id"] = m.exec_id;
          j["process"] = m.process;
          j["stdin"] = m.stdin;
        } else if constexpr (std::is_same_v<T, SignalProcess>) {
          j["container_id"] = m.container_id;
          j["exec_id"] = m.exec_id;
          j["signal"] = m.signal;
          if (m.all) j["all"] = true;  // absent otherwise: older agents reject unknown fields
        } else if constexpr (std::is_same_v<T, WaitProcess>) {
          j["container_id"] = m.container_id;
          j["exec_id"] = m.exec_id;
        } else if constexpr (std::is_same_v<T, RemoveContainer>) {
          j["container_id"] = m.container_id;
          j["force"] = m.force;
        } else if constexpr (std::is_same_v<T, AttachStdio>) {
          j["container_id"] = m.container_id;
          j["exec_id"] = m.exec_id;
          j["stream"] = to_string(m.stream);
        } else if constexpr (std::is_same_v<T, PauseContainer> ||
                             std::is_same_v<T, ResumeContainer> ||
                             std::is_same_v<T, StatsContainer> ||
                             std::is_same_v<T, ListProcesses>) {
          j["container_id"] = m.container_id;
        } else if constexpr (std::is_same_v<T, GetOomEvent> || std::is_same_v<T, DestroySandbox>) {
        } else if constexpr (std::is_same_v<T, CreateSandbox>) {
          j["sandbox_id"] = m.sandbox_id;
          if (m.hostname) j["hostname"] = *m.hostname;
          j["shared"] = m.shared;
        } else if constexpr (std::is_same_v<T, ConfigureNetwork>) {
          j = encode_configure_network(m);
        } else if constexpr (std::is_same_v<T, ResizePty>) {
          j["container_id"] = m.container_id;
          j["exec_id"] = m.exec_id;
          j["rows"] = m.rows;
          j["cols"] = m.cols;
        } else if constexpr (std::is_same_v<T, UpdateContainer>) {
          j["container_id"] = m.container_id;
          j["resources"] = m.resources;
        }
        return j;
      },
      body);
}

std::string one_line(std::string_view message) {
  std::string out(message);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return out;
}

// The agent's error for one line of a terminal or a log: control characters (a guest could send
// terminal escapes) become spaces, and the length is capped on a character boundary.
std::string one_line_text(const std::string& message) {
  std::string out;
  for (std::size_t i = 0; i < message.size() && out.size() < kMaxErrorLength; ++i) {
    auto c = static_cast<unsigned char>(message[i]);
    out += c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c);
  }
  if (out.size() < message.size()) {
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xc0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xc0) out.pop_back();
    out += "...";
  }
  return out;
}

}  // namespace

std::string_view to_string(StdioStream stream) {
  switch (stream) {
    case StdioStream::kStdin:
      return "stdin";
    case StdioStream::kStdout:
      return "stdout";
    case StdioStream::kStderr:
      return "stderr";
  }
  return "?";
}

std::string_view type_name(const RequestBody& body) {
  return std::visit([](const auto& m) { return std::decay_t<decltype(m)>::kName; }, body);
}

void check_id(std::string_view id, std::string_view field, bool allow_empty) {
  if (id.empty()) {
    if (allow_empty) return;
    throw Error(std::string(field) + ": must not be empty");
  }
  bool valid = id.size() <= kMaxIdLength && id.front() != '.' &&
               std::all_of(id.begin(), id.end(), [](char c) {
                 return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
               });
  if (!valid) {
    throw Error(std::string(field) +
                ": must be 1-64 characters of [A-Za-z0-9_.-] not starting with '.'");
  }
}

Request decode_request(std::string_view json_text) {
  nlohmann::json document;
  try {
    document = parse_untrusted_json(json_text, "request");
  } catch (const JsonError& e) {
    throw RequestError(0, e.what());
  }
  std::uint64_t id = 0;
  if (document.is_object()) {
    auto it = document.find("id");
    if (it != document.end() && it->is_number_unsigned()) id = it->get<std::uint64_t>();
  }
  try {
    JsonReader envelope(document, "");
    std::int64_t version = envelope.integer("version", 0, INT32_MAX);
    if (version != kProtocolVersion) {
      throw Error("version: unsupported protocol version " + std::to_string(version) +
                  " (this agent speaks " + std::to_string(kProtocolVersion) + ")");
    }
    Request request;
    request.id = envelope.unsigned_integer("id");
    std::string type = envelope.string("type");
    const nlohmann::json empty = nlohmann::json::object();
    const nlohmann::json* body_json = envelope.optional_object("body");
    envelope.reject_unknown();
    JsonReader body(body_json ? *body_json : empty, "body");
    request.body = decode_body(type, body);
    body.reject_unknown();
    return request;
  } catch (const RequestError&) {
    throw;
  } catch (const Error& e) {
    throw RequestError(id, e.what());
  }
}

std::string encode_request(const Request& request) {
  nlohmann::json j = {{"version", kProtocolVersion},
                      {"id", request.id},
                      {"type", type_name(request.body)},
                      {"body", encode_body(request.body)}};
  return j.dump();
}

std::string encode_ok(std::uint64_t id, const nlohmann::json& body) {
  return nlohmann::json{{"id", id}, {"ok", true}, {"body", body}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string encode_error(std::uint64_t id, ErrorCode code, std::string_view message) {
  // Replace invalid UTF-8 (e.g. from a path) instead of throwing while reporting an error.
  return nlohmann::json{
      {"id", id}, {"ok", false}, {"code", to_string(code)}, {"error", one_line(message)}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ReplyEnvelope decode_reply(std::string_view json_text) {
  // Bounded before the tree exists: a reply's body is copied, and copying recurses.
  nlohmann::json document = parse_untrusted_json(json_text, "reply");
  JsonReader reader(document, "reply");
  ReplyEnvelope reply;
  reply.id = reader.unsigned_integer("id");
  reply.ok = reader.boolean("ok");
  if (reply.ok) {
    reply.body = reader.object("body");
  } else {
    // A newer agent's code is still an error: the host acts on it as on any it cannot place.
    if (auto code = reader.optional_string("code")) {
      reply.code = error_code_named(*code).value_or(ErrorCode::kInternal);
    }
    reply.error = one_line_text(reader.string("error"));
  }
  reader.reject_unknown();
  return reply;
}

}  // namespace kvrun::protocol
