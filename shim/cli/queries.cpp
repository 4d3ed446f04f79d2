#include "shim/cli/queries.h"

#include <iomanip>
#include <ostream>

#include "common/error.h"

namespace kvrun::cli {

void print_state(const Globals& globals, const std::string& id, std::ostream& out) {
  state::StateDir states(globals.root);
  auto current = state::load_current_state(states.open(id));
  out << state::oci_state(current).dump(2) << "\n";
}

void print_list(const Globals& globals, const std::string& format, bool quiet, std::ostream& out) {
  state::StateDir states(globals.root);
  nlohmann::json all = nlohmann::json::array();
  std::vector<state::ContainerState> containers;
  for (const auto& id : states.list()) {
    try {
      containers.push_back(state::load_current_state(states.container_dir(id)));
    } catch (const Error&) {
      // A directory without a readable state.json is one being created or deleted right now.
    }
  }
  if (quiet) {
    for (const auto& c : containers) out << c.id << "\n";
    return;
  }
  if (format == "json") {
    for (const auto& c : containers) all.push_back(state::oci_state(c));
    out << all.dump() << "\n";
    return;
  }
  out << std::left << std::setw(20) << "ID" << std::setw(10) << "PID" << std::setw(10) << "STATUS"
      << std::setw(40) << "BUNDLE" << std::setw(32) << "CREATED"
      << "OWNER\n";
  for (const auto& c : containers) {
    out << std::left << std::setw(20) << c.id << std::setw(10)
        << (c.status == state::Status::kStopped ? 0 : c.pid) << std::setw(10)
        << state::to_string(c.status) << std::setw(40) << c.bundle.string() << std::setw(32)
        << c.created << "root\n";
  }
}

void print_ps(const Globals& globals, const std::string& id, const std::string& format,
              std::ostream& out) {
  state::StateDir states(globals.root);
  auto current = state::load_current_state(states.open(id));
  if (current.status == state::Status::kStopped) throw Error("container " + id + " is not running");
  if (format == "json") {
    out << nlohmann::json::array({current.pid}).dump() << "\n";
    return;
  }
  out << "PID CMD\n" << current.pid << " kvrun-monitor\n";
}

}  // namespace kvrun::cli
