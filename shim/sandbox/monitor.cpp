#include "shim/sandbox/monitor.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/error.h"
#include "common/error_code.h"
#include "protocol/client.h"
#include "shim/common/command.h"
#include "shim/network/guest_config.h"
#include "shim/network/vm_network.h"
#include "shim/sandbox/agent_connect.h"
#include "shim/sandbox/capped_log.h"
#include "shim/sandbox/container_request.h"
#include "shim/sandbox/monitor_process.h"
#include "shim/sandbox/pod_member.h"
#include "shim/sandbox/process_session.h"
#include "shim/state/process_identity.h"
#include "shim/state/state_dir.h"
#include "shim/state/transition.h"
#include "vmm/control/client.h"

namespace kvrun::sandbox {
namespace {

constexpr int kKilledStatus = 128 + SIGKILL;

// The log may have just been rotated: the last line can be in either part.
std::string log_tail(const std::filesystem::path& log) {
  return shim::last_line(read_capped_log(log));
}

void update_state(const std::filesystem::path& dir, const auto& change) {
  state::ContainerLock lock(dir);
  state::ContainerState current = state::load_state(dir);
  change(current);
  state::save_state(dir, current);
}

// The agent may not listen yet (the guest is booting); meanwhile the sandbox may die.
UniqueFd connect_while_alive(Sandbox& sandbox, const MonitorConfig& config) {
  auto deadline = std::chrono::steady_clock::now() + config.boot_timeout;
  for (;;) {
    try {
      return connect_agent(sandbox.agent_address);
    } catch (const Error& e) {
      if (auto status = sandbox.process.try_wait()) {
        auto log =
            config.state_dir / (config.launch.kind == SandboxKind::kVm ? "vmm.log" : "agent.log");
        throw Error("sandbox exited with status " + std::to_string(*status) +
                    " before its agent answered: " + log_tail(log));
      }
      if (std::chrono::steady_clock::now() >= deadline)
        throw Error("agent did not answer within " +
                    std::to_string(config.boot_timeout.count() / 1000) + " s: " + e.what());
    }
    ::usleep(20000);
  }
}

struct Running {
  std::optional<Sandbox> own;  // the VM or host agent this container brought up
  std::string agent_address;
  UniqueFd member_watch;              // a pod member: pidfd of the sandbox's VMM or host agent
  std::optional<unsigned> disk_slot;  // a pod member in a VM: where its rootfs image is
  // Readable once the sandbox the container runs in has gone.
  int sandbox_fd() const { return own ? own->process.pidfd() : member_watch.get(); }
  std::optional<protocol::Client> control;
  std::optional<ProcessSession> init;  // the init's stdio, terminal and WaitProcess
};

void start_session(Running& running, const MonitorConfig& config) {
  running.init.emplace(
      *running.control, [&address = running.agent_address] { return connect_agent(address); },
      SessionConfig{config.id, "", config.bundle.terminal, config.console_socket});
}

// The pod's shared namespaces: those of network, ipc and uts that the sandbox container's spec
// asks for (new or by path), and its hostname.
protocol::CreateSandbox pod_sandbox_request(const std::string& id, const nlohmann::json& spec) {
  protocol::CreateSandbox request;
  request.sandbox_id = id;
  const auto* namespaces = spec.contains("linux") && spec["linux"].is_object() &&
                                   spec["linux"].contains("namespaces") &&
                                   spec["linux"]["namespaces"].is_array()
                               ? &spec["linux"]["namespaces"]
                               : nullptr;
  if (namespaces != nullptr) {
    for (const auto& entry : *namespaces) {
      if (!entry.is_object() || !entry.contains("type") || !entry["type"].is_string()) continue;
      std::string type = entry["type"];
      if (type == "network" || type == "ipc" || type == "uts") request.shared.push_back(type);
    }
  }
  bool shares_uts =
      std::find(request.shared.begin(), request.shared.end(), "uts") != request.shared.end();
  if (shares_uts && spec.contains("hostname") && spec["hostname"].is_string() &&
      !spec["hostname"].get<std::string>().empty())
    request.hostname = spec["hostname"].get<std::string>();
  return request;
}

// Fills `slot`, so that whatever was started is torn down with it if a later step throws.
// A VM whose spec names a network namespace gets that namespace's interface (vm_network.h);
// `net` is filled first, so it is torn down after the sandbox whatever fails later.
void create_container(const MonitorConfig& config, std::optional<network::VmNetwork>& net,
                      std::optional<Running>& slot) {
  LaunchConfig launch = config.launch;
  if (launch.kind == SandboxKind::kVm) {
    if (auto netns = network::network_namespace_path(config.bundle.config)) {
      net.emplace(network::VmNetwork::setup(*netns, config.state_dir));
      if (net->uplink()) launch.network = VmNetLink{*netns, network::kTapName, net->uplink()->mac};
    }
  }
  // The "phase:" debug lines time-stamp boot phases for bench/containers (docs/bench.md).
  spdlog::debug("phase: launching sandbox");
  Running& running = slot.emplace();
  Sandbox& sandbox = running.own.emplace(launch_sandbox(launch));
  running.agent_address = sandbox.agent_address;
  update_state(config.state_dir, [&](state::ContainerState& s) {
    s.vmm_pid = sandbox.process.pid();
    s.agent_address = sandbox.agent_address;
  });
  running.control.emplace(connect_while_alive(sandbox, config));
  spdlog::debug("phase: agent answered");
  GuestSpecContext guest;
  guest.loopback_only_network = net && !net->uplink();
  auto request = container_request(config.id, config.bundle, config.launch.kind, guest);
  if (config.pod_sandbox) {
    // Before the network: a pod's interface goes into the namespace the sandbox shares.
    running.control->call(pod_sandbox_request(config.id, config.bundle.config));
    request.sandbox = true;
  }
  if (net && net->uplink()) {
    protocol::configure_network(*running.control, network::guest_network(*net->uplink()));
    request.network = true;
  }
  running.control->call(request);
  spdlog::debug("phase: container created");
  start_session(running, config);
}

// A pod member: its rootfs image into a free disk slot of the sandbox's VM, then the container
// through the sandbox's agent, in the pod's namespaces.
void create_member(const MonitorConfig& config, std::optional<Running>& slot) {
  const PodMember& pod = *config.member;
  Running& running = slot.emplace();
  running.agent_address = pod.agent_address;
  running.member_watch = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pod.sandbox_pid, 0)));
  if (!running.member_watch)
    throw_errno("the pod's sandbox (pid " + std::to_string(pod.sandbox_pid) + ")");
  update_state(config.state_dir,
               [&](state::ContainerState& s) { s.agent_address = pod.agent_address; });
  running.control.emplace(connect_agent(pod.agent_address));
  create_in_pod(*running.control, container_request(config.id, config.bundle, config.launch.kind),
                pod, config.launch.kind == SandboxKind::kVm ? config.launch.rootfs_image_fd : -1,
                running.disk_slot, [&](unsigned disk) {
                  update_state(config.state_dir, [&](state::ContainerState& s) {
                    s.disk_slot = static_cast<int>(disk);
                  });
                });
  start_session(running, config);
}

// A member leaves nothing in the pod's VM: its processes, cgroup and mounts go with
// RemoveContainer, then its disk slot is emptied for the next member. The sandbox may be gone.
void remove_member(const MonitorConfig& config, Running& running) {
  remove_from_pod(*config.member, config.id, running.disk_slot);
}

// Blocks until the init exits, the sandbox dies or a stop signal arrives.
int supervise(Running& running, int signal_fd) {
  for (;;) {
    pollfd fds[3] = {{running.init->wait_fd(), POLLIN, 0},
                     {running.sandbox_fd(), POLLIN, 0},
                     {signal_fd, POLLIN, 0}};
    if (::poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      throw_errno("poll");
    }
    if (fds[0].revents != 0) {
      try {
        // Checked for its id and kind (replies.h) and, once its first byte is there, whole
        // within the call timeout: a guest cannot hold the monitor inside a half frame.
        return running.init->exit_status();
      } catch (const Error& e) {
        // The VM dying closes the connection too: report it as a kill.
        spdlog::warn("container {}: {}", "init", e.what());
        return kKilledStatus;
      }
    }
    if (fds[1].revents != 0) {
      int status = running.own ? running.own->process.try_wait().value_or(-1) : -1;
      spdlog::warn("sandbox process exited with status {} while the container ran", status);
      return kKilledStatus;
    }
    if (fds[2].revents != 0) {
      signalfd_siginfo info{};
      if (::read(signal_fd, &info, sizeof info) != sizeof info || info.ssi_signo == SIGCHLD)
        continue;
      if (info.ssi_signo == SIGWINCH) {
        try {
          running.init->resize(*running.control);
        } catch (const Error& e) {
          spdlog::warn("resize: {}", e.what());
        }
        continue;
      }
      {
        spdlog::info("monitor: signal {}: tearing the sandbox down", info.ssi_signo);
        return kKilledStatus;
      }
    }
  }
}

UniqueFd stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGWINCH}) sigaddset(&set, sig);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
  UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC));
  if (!fd) throw_errno("signalfd");
  return fd;
}

}  // namespace

void run_monitor(MonitorConfig config) {
  std::signal(SIGPIPE, SIG_IGN);
  int status = 1;
  try {
    UniqueFd signal_fd = stop_signals();
    update_state(config.state_dir, [&](state::ContainerState& s) {
      s.pid = ::getpid();
      s.pid_start_time = state::process_start_time(s.pid).value_or(0);
    });
    std::optional<network::VmNetwork> net;  // destroyed after the sandbox that uses it
    std::optional<Running> running;
    {
      try {
        if (config.member) {
          create_member(config, running);
        } else {
          create_container(config, net, running);
        }
        // The container exists and waits for start, and state.json still says creating: the
        // spec's moment for these; a failure tears everything down like any failed step.
        oci::run_create_hooks(
            config.bundle.hooks,
            oci::hook_state(state::load_state(config.state_dir), state::Status::kCreating));
      } catch (const Error& e) {
        if (config.member && running) remove_member(config, *running);
        report_failure(config.ready_fd, e.what(), code_of(e));
        throw;
      }
      update_state(config.state_dir,
                   [](state::ContainerState& s) { state::transition(s, state::Status::kCreated); });
      report_ready(config.ready_fd);

      status = supervise(*running, signal_fd.get());
      // Output written just before the exit is still on its way through the agent.
      if (status != kKilledStatus) running->init->wait_output(std::chrono::seconds(5));
      if (config.member) {
        remove_member(config, *running);
      } else {
        running->own->process.stop(config.launch.kind == SandboxKind::kVm ? SIGKILL : SIGTERM,
                                   2000);
      }
      // Stopped means the tap and qdiscs are gone as well.
      net.reset();
      running->init.reset();  // its relay joined before the state says stopped, as before
    }
    if (std::filesystem::is_directory(config.state_dir)) {
      update_state(config.state_dir, [&](state::ContainerState& s) {
        state::transition(s, state::Status::kStopped);
        s.exit_status = status;
      });
    }
    spdlog::info("container {} exited with status {}", config.id, status);
  } catch (const std::exception& e) {
    spdlog::error("monitor of {}: {}", config.id, e.what());
    if (std::filesystem::is_directory(config.state_dir)) {
      try {
        update_state(config.state_dir, [](state::ContainerState& s) {
          state::transition(s, state::Status::kStopped);
        });
      } catch (const std::exception&) {
      }
    }
  }
  spdlog::shutdown();
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace kvrun::sandbox
