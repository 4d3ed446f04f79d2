#include "agent/container/start_hooks.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/oci_hook.h"

namespace kvrun::agent {

void run_start_container_hooks(const spec::ContainerSpec& spec, std::string_view container_id,
                               std::string_view bundle) {
  if (spec.start_container_hooks.empty()) return;
  nlohmann::ordered_json state = {
      {"ociVersion", "1.0.2"},  // what the host's state says (shim/state/container_state.cpp)
      {"id", container_id},    {"status", "created"}, {"pid", ::getpid()}, {"bundle", bundle},
  };
  if (!spec.annotations.empty()) state["annotations"] = spec.annotations;
  const std::string text = state.dump();
  for (std::size_t i = 0; i < spec.start_container_hooks.size(); ++i) {
    Hook hook = spec.start_container_hooks[i];
    if (!hook.env) hook.env = spec.process.env;
    run_hook(hook, text, "startContainer hook #" + std::to_string(i),
             kDefaultStartContainerHookTimeout);
  }
}

}  // namespace kvrun::agent
