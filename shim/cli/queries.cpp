#include "shim/cli/queries.h"

#include <chrono>
#include <cstdint>
#include <iomanip>
#include <ostream>

#include "common/error.h"
#include "common/printable.h"
#include "protocol/client.h"
#include "shim/runtime/container.h"

namespace kvrun::cli {
namespace {

// Per argument of `kvrun ps`: a command line is shown, not stored.
constexpr std::size_t kMaxShownArgBytes = 4096;

}  // namespace

void print_state(const Globals& globals, const std::string& id, std::ostream& out) {
  auto current = runtime::find_container(globals.root, id).state;
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
  auto current = runtime::find_container(globals.root, id).state;
  // A stopped container has no processes, and no agent to ask (runc lists none, status 0).
  // The agent's answer is checked whole by its decoder (replies.h).
  protocol::ProcessList reply;
  if (current.status != state::Status::kStopped) {
    protocol::Client client(connect_to_agent(current, std::chrono::seconds(5)));
    reply = client.call(protocol::ListProcesses{id});
  }
  std::vector<std::pair<std::int64_t, std::string>> processes;
  for (const auto& entry : reply.processes) {
    std::string command;
    for (const auto& arg : entry.args) {
      if (!command.empty()) command += ' ';
      // A container process writes its own argv: its terminal escapes must not reach ours.
      command += printable(arg, kMaxShownArgBytes);
    }
    processes.emplace_back(entry.pid, command);
  }
  if (format == "json") {
    nlohmann::json pids = nlohmann::json::array();
    for (const auto& [pid, command] : processes) pids.push_back(pid);
    out << pids.dump() << "\n";
    return;
  }
  out << std::left << std::setw(8) << "PID"
      << "CMD\n";
  for (const auto& [pid, command] : processes)
    out << std::left << std::setw(8) << pid << command << "\n";
}

}  // namespace kvrun::cli
