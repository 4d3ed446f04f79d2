// One container of a kvrun state root, found by the root and its id: what the CLI and the
// containerd shim both start from before they act on a container.
#pragma once

#include <filesystem>
#include <string>

#include "shim/state/container_state.h"

namespace kvrun::runtime {

struct Container {
  std::filesystem::path dir;  // its state directory (state_dir.h)
  state::ContainerState state;
};

// Its directory and current state (state::load_current_state: stopped once its monitor has
// gone). Throws Error("container does not exist") for an unknown id, Error for a damaged state.
Container find_container(const std::filesystem::path& root, const std::string& id);

}  // namespace kvrun::runtime
