#include "shim/oci/hooks.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdint>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "shim/state/state_dir.h"

namespace kvrun::oci {
namespace {

constexpr const char* kHooksFile = "hooks.json";
// hooks.json holds at most 6 x 64 hooks of bounded strings; a larger file is not ours.
constexpr std::size_t kMaxHooksFileBytes = 64 << 20;

[[noreturn]] void fail(const std::string& field, const std::string& problem) {
  throw Error("config.json: " + field + ": " + problem);
}

const nlohmann::json* find(const nlohmann::json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::vector<std::string> string_list(const nlohmann::json& value, const std::string& field) {
  if (!value.is_array()) fail(field, "must be an array of strings");
  // Counted before anything is copied.
  if (value.size() > kMaxHookArgs)
    fail(field, "more than " + std::to_string(kMaxHookArgs) + " entries");
  std::vector<std::string> list;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) fail(field + "[" + std::to_string(i) + "]", "must be a string");
    list.push_back(value[i].get<std::string>());
  }
  return list;
}

Hook parse_hook(const nlohmann::json& value, const std::string& field) {
  if (!value.is_object()) fail(field, "must be an object");
  Hook hook;
  const nlohmann::json* path = find(value, "path");
  if (path == nullptr) fail(field + ".path", "required field is missing");
  if (!path->is_string()) fail(field + ".path", "must be a string");
  hook.path = path->get<std::string>();
  if (const auto* args = find(value, "args")) hook.args = string_list(*args, field + ".args");
  if (const auto* env = find(value, "env")) hook.env = string_list(*env, field + ".env");
  if (const auto* timeout = find(value, "timeout")) {
    if (!timeout->is_number_integer()) fail(field + ".timeout", "must be an integer");
    if (timeout->is_number_unsigned() && timeout->get<std::uint64_t>() > INT64_MAX)
      fail(field + ".timeout", "out of range");
    hook.timeout = std::chrono::seconds(timeout->get<std::int64_t>());
  }
  check_hook(hook, "config.json: " + field);
  return hook;
}

std::string hook_name(HookKind kind, std::size_t index) {
  return std::string(hook_kind_name(kind)) + " hook #" + std::to_string(index);
}

}  // namespace

bool Hooks::empty() const {
  for (const auto& list : lists)
    if (!list.empty()) return false;
  return true;
}

Hooks parse_hooks(const nlohmann::json& config) {
  Hooks hooks;
  const nlohmann::json* object = find(config, "hooks");
  if (object == nullptr) return hooks;
  if (!object->is_object()) fail("hooks", "must be an object");
  for (std::size_t k = 0; k < kHookKinds; ++k) {
    auto kind = static_cast<HookKind>(k);
    std::string field = "hooks." + std::string(hook_kind_name(kind));
    const nlohmann::json* list = find(*object, hook_kind_name(kind));
    if (list == nullptr) continue;
    if (!list->is_array()) fail(field, "must be an array");
    if (list->size() > kMaxHooksPerKind)
      fail(field, "more than " + std::to_string(kMaxHooksPerKind) + " hooks");
    for (std::size_t i = 0; i < list->size(); ++i)
      hooks.of(kind).push_back(parse_hook((*list)[i], field + "[" + std::to_string(i) + "]"));
  }
  return hooks;
}

nlohmann::json hooks_json(const Hooks& hooks) {
  nlohmann::json object = nlohmann::json::object();
  for (std::size_t k = 0; k < kHookKinds; ++k) {
    auto kind = static_cast<HookKind>(k);
    if (hooks.of(kind).empty()) continue;
    nlohmann::json& list = object[std::string(hook_kind_name(kind))] = nlohmann::json::array();
    for (const Hook& hook : hooks.of(kind)) {
      nlohmann::json entry = {{"path", hook.path}};
      if (!hook.args.empty()) entry["args"] = hook.args;
      if (hook.env) entry["env"] = *hook.env;
      if (hook.timeout) entry["timeout"] = hook.timeout->count();
      list.push_back(std::move(entry));
    }
  }
  return object;
}

std::string hook_state(const state::ContainerState& container, state::Status status) {
  // In the spec's order, as runc writes it, for people reading a hook's log.
  nlohmann::ordered_json json = {
      {"ociVersion", "1.0.2"},
      {"id", container.id},
      {"status", state::to_string(status)},
  };
  if (status != state::Status::kStopped) json["pid"] = container.pid;
  json["bundle"] = container.bundle.string();
  if (!container.annotations.empty()) json["annotations"] = container.annotations;
  return json.dump();
}

std::string stopped_hook_state(const std::string& id, const std::filesystem::path& bundle,
                               const std::map<std::string, std::string>& annotations) {
  state::ContainerState container;
  container.id = id;
  container.bundle = bundle;
  container.annotations = annotations;
  return hook_state(container, state::Status::kStopped);
}

void run_hooks(const Hooks& hooks, HookKind kind, const std::string& state) {
  const auto& list = hooks.of(kind);
  for (std::size_t i = 0; i < list.size(); ++i) {
    spdlog::debug("running {}: {}", hook_name(kind, i), list[i].path);
    run_hook(list[i], state, hook_name(kind, i));
  }
}

void run_hooks_warn_only(const Hooks& hooks, HookKind kind, const std::string& state) {
  const auto& list = hooks.of(kind);
  for (std::size_t i = 0; i < list.size(); ++i) {
    try {
      spdlog::debug("running {}: {}", hook_name(kind, i), list[i].path);
      run_hook(list[i], state, hook_name(kind, i));
    } catch (const Error& e) {
      spdlog::warn("{}", e.what());
    }
  }
}

void run_create_hooks(const Hooks& hooks, const std::string& state) {
  for (HookKind kind : {HookKind::kPrestart, HookKind::kCreateRuntime, HookKind::kCreateContainer})
    run_hooks(hooks, kind, state);
}

PoststopOnFailure::~PoststopOnFailure() {
  if (released_) return;
  try {
    run_hooks_warn_only(hooks_, HookKind::kPoststop, state_);
  } catch (const std::exception& e) {
    spdlog::warn("poststop hooks: {}", e.what());
  }
}

void save_hooks(const std::filesystem::path& dir, const Hooks& hooks) {
  if (hooks.empty()) return;
  state::write_state_file(dir, kHooksFile, hooks_json(hooks).dump() + "\n");
}

Hooks load_saved_hooks(const std::filesystem::path& dir) {
  auto path = dir / kHooksFile;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return {};
    throw_errno("open " + path.string());
  }
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxHooksFileBytes) throw Error(path.string() + ": too large");
  nlohmann::json hooks = nlohmann::json::parse(text.str(), nullptr, false);
  if (hooks.is_discarded()) throw Error(path.string() + ": invalid JSON");
  try {
    return parse_hooks(nlohmann::json{{"hooks", hooks}});
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

}  // namespace kvrun::oci
