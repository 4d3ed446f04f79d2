// The container engine: the agent's containers and their processes, driven by protocol
// requests and by the supervisor's exit reports. Knows nothing about sockets or framing.
#pragma once

#include <sys/types.h>

#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/container/block_rootfs.h"
#include "agent/container/cgroups.h"
#include "agent/container/copied_files.h"
#include "agent/container/launch.h"
#include "agent/container/overlay_rootfs.h"
#include "agent/container/sandbox_namespaces.h"
#include "agent/container/seccomp.h"
#include "agent/event_loop.h"
#include "agent/oom_watcher.h"
#include "agent/stdio_relay.h"
#include "common/unique_fd.h"
#include "protocol/messages.h"
#include "spec/spec.h"

namespace kvrun::agent {

struct EngineConfig {
  CgroupConfig cgroups;
  // Scratch space per container (overlay upper and work directories) is mounted below it.
  std::filesystem::path state_dir = "/run/kvrun";
};

class Engine {
 public:
  using WaitCallback = std::function<void(int exit_status)>;
  // Called once: with nullptr when the process has exec'd, else with the Error saying why not.
  using StartCallback = std::function<void(std::exception_ptr error)>;
  // Returns false if the event could not be delivered (the client left); it is then kept.
  using OomCallback = std::function<bool(const std::string& container_id)>;

  Engine(EventLoop& loop, EngineConfig config);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  // Kills and reaps every container process: nothing outlives the agent.
  ~Engine();

  // Each returns the reply body or throws with a one-line reason: protocol::AgentError with the
  // code the host acts on (agent-protocol.md "Error codes"); any other Error is internal.
  nlohmann::json create(const protocol::CreateContainer& request);
  // Throws if the container cannot start now; else done runs once the init has exec'd or
  // failed to. Its startContainer hooks run first, for up to their timeouts: the agent serves
  // other requests (and every container's stdio) meanwhile.
  void start(const protocol::StartContainer& request, StartCallback done);
  nlohmann::json exec(const protocol::ExecProcess& request);
  nlohmann::json signal(const protocol::SignalProcess& request);
  nlohmann::json remove(const protocol::RemoveContainer& request);
  // done runs now if the process has exited, else when it does.
  void wait(const protocol::WaitProcess& request, WaitCallback done);
  // Throws if the stream does not exist or is already attached; call before acknowledging.
  void check_attach(const protocol::AttachStdio& request);
  void attach(const protocol::AttachStdio& request, UniqueFd connection);
  nlohmann::json pause(const protocol::PauseContainer& request);
  nlohmann::json resume(const protocol::ResumeContainer& request);
  nlohmann::json stats(const protocol::StatsContainer& request);
  nlohmann::json resize(const protocol::ResizePty& request);
  nlohmann::json update(const protocol::UpdateContainer& request);
  nlohmann::json list_processes(const protocol::ListProcesses& request);
  // Kills, reaps and removes every container; from then on nothing new may be created.
  nlohmann::json destroy_sandbox();
  // The pod's shared namespaces; at most one sandbox per agent.
  nlohmann::json create_sandbox(const protocol::CreateSandbox& request);
  // The guest's links, addresses and routes, in the pod's network namespace if there is one,
  // else the agent's own; once per agent.
  nlohmann::json configure_network(const protocol::ConfigureNetwork& request);
  // done runs now if an OOM kill is queued, else at the next one.
  void wait_oom(OomCallback done);

  void on_exit(pid_t pid, int wait_status);

 private:
  struct Process {
    std::string exec_id;  // "" for init
    pid_t pid = -1;
    std::optional<int> exit_status;
    UniqueFd stdin_pipe, stdout_pipe, stderr_pipe;  // agent ends until attached
    bool has_stdin = false;
    UniqueFd pty_master;  // a terminal: stdin/stdout_pipe are copies of it, no stderr
    std::vector<std::unique_ptr<StdioRelay>> relays;
    std::vector<WaitCallback> waiters;
  };
  enum class State { kCreated, kRunning, kPaused, kStopped };
  // A StartContainer waiting for the init's exec: the init's answer or the deadline ends it.
  struct Starting {
    LaunchedInit init;
    UniqueFd deadline;  // timerfd
    StartCallback done;
    EventLoop::Watch answer_watch, deadline_watch;  // last: unregistered before the fds close
  };
  struct Container {
    std::string id;
    std::string bundle;  // the host's bundle directory, for the hooks' state
    spec::ContainerSpec spec;
    // Destroyed in reverse: the overlay (which may sit on the block rootfs) goes first.
    std::optional<BlockRootfs> block;
    std::optional<OverlayRootfs> overlay;  // before rootfs: its path may point into it
    std::optional<CopiedFiles> files;      // bind mount sources the host sent
    std::string rootfs;
    std::optional<Cgroup> cgroup;
    std::optional<SeccompFilter> seccomp;
    std::map<spec::NamespaceType, int> sandbox_namespaces;  // joined instead of spec paths
    std::optional<LaunchedInit> pending_start;
    std::unique_ptr<Starting> starting;
    State state = State::kCreated;
    std::unique_ptr<Process> init;
    std::map<std::string, std::unique_ptr<Process>> execs;
    LaunchContext context() const;
  };

  Container& find(const std::string& id);
  Process& find_process(Container& container, const std::string& exec_id);
  // Creates the pipes; returns the child's ends. With a terminal the child's ends are
  // placeholders and the streams come from the pty (use_pty, after launch).
  ChildStdio make_stdio(Process& process, bool with_stdin, bool terminal);
  void use_pty(Process& process, UniqueFd master);
  void finish_process(Process& process, int wait_status);
  // Ends container id's Starting (if it still has one) with the init's answer, or as timed out.
  void finish_start(const std::string& id, bool timed_out);
  // Ends a Starting that will never get its answer (the container goes away).
  static void abandon_start(Container& container);
  // SIGKILLs and synchronously reaps every live process of the container (its whole cgroup).
  void kill_all(Container& container);
  // Its cgroup's members, else the members of its own PID namespace, else the processes the
  // agent started that still run.
  std::vector<pid_t> live_processes(const Container& container) const;
  void check_not_destroyed() const;
  const Cgroup& cgroup_of(const Container& container) const;
  void on_oom(const std::string& container_id);

  EventLoop& loop_;
  EngineConfig config_;
  OomWatcher oom_watcher_;
  std::deque<std::string> oom_events_;  // kills nobody has asked for yet
  std::deque<OomCallback> oom_waiters_;
  std::string sandbox_id_;
  std::optional<SandboxNamespaces> sandbox_;  // outlives containers_: they refer to its fds
  // The network namespace ConfigureNetwork configured (the pod's, or the agent's own);
  // containers created with `network` join it.
  UniqueFd network_netns_;
  std::map<std::string, std::unique_ptr<Container>> containers_;
  bool destroyed_ = false;  // DestroySandbox ran: the agent is about to end
};

}  // namespace kvrun::agent
