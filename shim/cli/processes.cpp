#include "shim/cli/processes.h"

#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "common/error.h"
#include "common/error_code.h"
#include "protocol/client.h"
#include "shim/oci/bundle.h"
#include "shim/sandbox/exec_monitor.h"
#include "shim/sandbox/monitor_process.h"
#include "shim/state/process_identity.h"
#include "shim/state/transition.h"

namespace kvrun::cli {
namespace {

using state::ContainerState;

std::string new_exec_id() {
  std::random_device random;
  std::ostringstream id;
  id << "exec-" << std::hex << random() << random();
  return id.str();
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  auto json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) throw Error(path + ": not a JSON object");
  return json;
}

}  // namespace

void kill_container(const Globals& globals, const std::string& id, const std::string& signal,
                    bool all) {
  // runc's order: an unknown container, then a bad signal, then a stopped container.
  state::StateDir states(globals.root);
  ContainerState current = state::load_current_state(states.open(id));
  int sig = parse_signal(signal);
  // containerd's shim (as its checkKillError for runc) takes this for a process that has gone.
  if (current.status == state::Status::kStopped)
    throw CodedError(ErrorCode::kNotFound, "container not running");
  // Signal 0 only asks whether the init is there, which its monitor's being alive answers; the
  // agent takes real signals only.
  if (sig == 0) return;
  try {
    protocol::Client client(connect_to_agent(current, std::chrono::seconds(5)));
    // --all: every process of the container (the agent freezes its cgroup, lists, signals and
    // thaws), as runc does; else the init only.
    client.call(protocol::SignalProcess{id, "", sig, all});
  } catch (const Error& e) {
    // A hung or dead agent must not make SIGKILL fail: killing the monitor kills the sandbox.
    if (sig != SIGKILL) throw;
    spdlog::warn("kill {}: agent unreachable ({}); killing the sandbox", id, e.what());
    if (state::process_alive(current.pid, current.pid_start_time)) ::kill(current.pid, SIGTERM);
  }
}

nlohmann::json exec_process(const nlohmann::json& container_process, const ExecOptions& options) {
  if (!options.process_file.empty()) return read_json_file(options.process_file);
  if (options.args.empty()) throw Error("exec: no command given (args or --process)");
  nlohmann::json process =
      container_process.is_object() ? container_process : nlohmann::json::object();
  process["args"] = options.args;
  process["terminal"] = options.tty;
  process.erase("consoleSize");
  if (!options.cwd.empty()) process["cwd"] = options.cwd;
  if (!options.env.empty()) {
    auto env = process.value("env", nlohmann::json::array());
    for (const auto& entry : options.env) env.push_back(entry);
    process["env"] = env;
  }
  if (!options.user.empty()) {
    auto colon = options.user.find(':');
    try {
      process["user"] = {
          {"uid", std::stoul(options.user.substr(0, colon))},
          {"gid", colon == std::string::npos ? 0 : std::stoul(options.user.substr(colon + 1))}};
    } catch (const std::exception&) {
      throw Error("exec --user " + options.user + ": expected uid[:gid]");
    }
  }
  return process;
}

ExitStatus exec_in_container(const Globals& globals, const ExecOptions& options) {
  state::StateDir states(globals.root);
  ContainerState current = state::load_current_state(states.open(options.id));
  // runc's words; unlike runc, a created container is refused too: the agent execs only into a
  // started one.
  if (current.status == state::Status::kStopped)
    throw CodedError(ErrorCode::kFailedPrecondition, "cannot exec in a stopped container");
  if (current.status == state::Status::kPaused)
    throw CodedError(ErrorCode::kFailedPrecondition, "cannot exec in a paused container");
  if (current.status != state::Status::kRunning)
    throw CodedError(ErrorCode::kFailedPrecondition,
                     "cannot exec in a container that has not been started");
  nlohmann::json config = oci::load_bundle(current.bundle).config;
  nlohmann::json process = exec_process(config.value("process", nlohmann::json::object()), options);
  // A caller-chosen id lets it signal the process through the agent later (the containerd shim).
  std::string exec_id = options.exec_id.empty() ? new_exec_id() : options.exec_id;
  protocol::check_id(exec_id, "exec id", false);

  pid_t pid = sandbox::fork_monitor([&](int ready_fd) {
    if (options.detach) ::setsid();
    sandbox::run_exec_monitor(
        sandbox::ExecMonitorConfig{current.id, exec_id, process, options.console_socket, ready_fd},
        [&] { return connect_to_agent(current, std::chrono::milliseconds(0)); });
  });
  if (!options.pid_file.empty()) write_pid_file(options.pid_file, pid);
  if (options.detach) return 0;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void pause_container(const Globals& globals, const std::string& id, bool pause) {
  state::StateDir states(globals.root);
  auto dir = states.open(id);
  state::ContainerLock lock(dir);
  ContainerState current = state::load_current_state(dir);
  // runc's words. Unlike runc, a created container cannot be paused: the agent freezes only
  // a started one.
  if (pause && current.status != state::Status::kRunning)
    throw CodedError(ErrorCode::kFailedPrecondition, "container not running");
  if (!pause && current.status != state::Status::kPaused)
    throw CodedError(ErrorCode::kFailedPrecondition, "container not paused");
  protocol::Client client(connect_to_agent(current));
  if (pause) {
    client.call(protocol::PauseContainer{id});
  } else {
    client.call(protocol::ResumeContainer{id});
  }
  state::transition(current, pause ? state::Status::kPaused : state::Status::kRunning);
  state::save_state(dir, current);
}

void update_container(const Globals& globals, const std::string& id,
                      const std::string& resources_file) {
  if (resources_file.empty()) throw Error("update: --resources FILE (or - for stdin) is required");
  nlohmann::json resources;
  if (resources_file == "-") {
    resources = nlohmann::json::parse(std::cin, nullptr, false);
  } else {
    std::ifstream in(resources_file);
    if (!in) throw Error("--resources " + resources_file + ": cannot be read");
    resources = nlohmann::json::parse(in, nullptr, false);
  }
  if (!resources.is_object())
    throw Error("--resources " + resources_file + ": not a JSON object (linux.resources)");
  state::StateDir states(globals.root);
  auto dir = states.open(id);
  state::ContainerLock lock(dir);
  ContainerState current = state::load_current_state(dir);
  if (current.status == state::Status::kStopped || current.status == state::Status::kCreating)
    throw CodedError(ErrorCode::kFailedPrecondition, "container " + id + " is not running");
  protocol::Client client(connect_to_agent(current));
  client.call(protocol::UpdateContainer{id, std::move(resources)});
}

}  // namespace kvrun::cli
