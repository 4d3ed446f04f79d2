#include "shim/runtime/container.h"

#include "shim/state/state_dir.h"

namespace kvrun::runtime {

Container find_container(const std::filesystem::path& root, const std::string& id) {
  state::StateDir states(root);
  Container container;
  container.dir = states.open(id);
  container.state = state::load_current_state(container.dir);
  return container;
}

}  // namespace kvrun::runtime
