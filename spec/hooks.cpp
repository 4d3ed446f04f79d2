#include "spec/hooks.h"

#include "common/error.h"
#include "protocol/json_reader.h"

namespace kvrun::spec {

using protocol::element_path;
using protocol::JsonReader;

std::vector<Hook> parse_start_container_hooks(const nlohmann::json& hooks,
                                              const std::string& path) {
  // Not reject_unknown() nor ignore_unknown(): the other kinds are the host's, not unknown.
  JsonReader r(hooks, path);
  std::vector<Hook> result;
  const nlohmann::json* list = r.optional_array("startContainer");
  if (list == nullptr) return result;
  if (list->size() > kMaxHooksPerKind)
    throw Error(r.path_of("startContainer") + ": more than " + std::to_string(kMaxHooksPerKind) +
                " hooks");
  for (std::size_t i = 0; i < list->size(); ++i) {
    std::string field = element_path(r.path_of("startContainer"), i);
    JsonReader entry((*list)[i], field);
    Hook hook;
    hook.path = entry.string("path");
    hook.args = entry.optional_string_array("args").value_or(std::vector<std::string>{});
    hook.env = entry.optional_string_array("env");
    if (auto timeout = entry.optional_integer("timeout", 1, kMaxHookTimeoutSeconds))
      hook.timeout = std::chrono::seconds(*timeout);
    check_hook(hook, field);
    result.push_back(std::move(hook));
  }
  return result;
}

}  // namespace kvrun::spec
