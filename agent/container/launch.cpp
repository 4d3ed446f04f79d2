#include "agent/container/launch.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <exception>
#include <vector>

#include "agent/container/lsm_labels.h"
#include "agent/container/mounts.h"
#include "agent/container/process.h"
#include "agent/container/process_attributes.h"
#include "agent/container/pty.h"
#include "agent/container/security.h"
#include "agent/container/start_hooks.h"
#include "common/error.h"

namespace kvrun::agent {
namespace {

// Generous: creating a container is a handful of syscalls, but a loaded CI machine is slow.
constexpr std::chrono::milliseconds kChildTimeout{30000};
constexpr std::chrono::milliseconds kForever{-1};
constexpr int kExitSetupFailed = 1;
constexpr int kExitExecFailed = 127;

// Kills and reaps a child unless released; the agent must never leak a half-created process.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ChildGuard(const ChildGuard&) = delete;
  ChildGuard& operator=(const ChildGuard&) = delete;
  ~ChildGuard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    reap();
  }
  void release() { pid_ = -1; }
  // Waits for a child that is about to exit anyway (the exec helper).
  void reap() {
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

// ---- child side ---------------------------------------------------------------------------

[[noreturn]] void child_exit(const SyncChannel& channel, const std::string& error, int code) {
  try {
    channel.send(std::string(kMsgErrorPrefix) + error);
  } catch (...) {
    // Nobody is listening any more; the exit code still tells.
  }
  ::_exit(code);
}

// Makes the fresh child a clean process: default signal handling (the agent blocks SIGCHLD
// for its signalfd and ignores SIGPIPE; both are inherited across exec), the stdio it was given
// on 0-2, and no other descriptor of the agent except those in keep.
void reset_child(const ChildStdio& stdio, std::vector<int> keep) {
  sigset_t none;
  sigemptyset(&none);
  if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0) throw_errno("sigprocmask");
  for (int sig = 1; sig < NSIG; ++sig) ::signal(sig, SIG_DFL);  // EINVAL for KILL/STOP is fine
  // If the agent dies, its half-made containers must not linger.
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) throw_errno("prctl PR_SET_PDEATHSIG");
  // Until exec this process is a copy of the agent's memory (every container's spec); a process
  // of the container, or its startContainer hook, must not read it through /proc/<pid>/mem
  // (runc's CVE-2016-9962). exec makes the container's own program dumpable again.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) throw_errno("prctl PR_SET_DUMPABLE");

  // Move the stdio fds above 2 first: one of them may already sit on 0-2.
  int moved[3];
  const UniqueFd* sources[3] = {&stdio.in, &stdio.out, &stdio.err};
  for (int i = 0; i < 3; ++i) {
    moved[i] = ::fcntl(sources[i]->get(), F_DUPFD_CLOEXEC, 3);
    if (moved[i] < 0) throw_errno("dup stdio fd");
  }
  for (int i = 0; i < 3; ++i) {
    if (::dup2(moved[i], i) < 0) throw_errno("dup2 stdio fd");
  }
  std::sort(keep.begin(), keep.end());
  unsigned int next = 3;
  for (int fd : keep) {
    if (fd < 3) continue;
    if (static_cast<unsigned int>(fd) > next && ::close_range(next, fd - 1, 0) != 0)
      throw_errno("close the agent's descriptors");
    next = static_cast<unsigned int>(fd) + 1;
  }
  if (::close_range(next, ~0U, 0) != 0) throw_errno("close the agent's descriptors");
}

// The container's init: every stage in order. Never returns.
[[noreturn]] void run_init_child(const LaunchContext& context, const NamespaceSet& joined,
                                 const ChildStdio& stdio, const SyncChannel& channel) {
  const spec::ContainerSpec& spec = context.spec;
  try {
    std::vector<int> keep = joined.fds();
    keep.push_back(channel.fd());
    reset_child(stdio, keep);
    joined.enter_except_pid();  // the PID namespace was joined by being created in it
    // Wait until the agent has written our id maps and moved us into our cgroup.
    auto go = channel.receive(kChildTimeout);
    if (!go || *go != kMsgSetupDone) ::_exit(kExitSetupFailed);
    if (spec.linux_spec.has(spec::NamespaceType::kCgroup) &&
        !spec.linux_spec.namespace_paths.contains(spec::NamespaceType::kCgroup) &&
        ::unshare(CLONE_NEWCGROUP) != 0) {
      // Unshared only now so the namespace is rooted at the container's own cgroup.
      throw_errno("unshare the cgroup namespace");
    }
    if (spec.linux_spec.has(spec::NamespaceType::kUser)) {
      if (::setresgid(0, 0, 0) != 0) throw_errno("setgid 0 in the user namespace");
      if (::setresuid(0, 0, 0) != 0) throw_errno("setuid 0 in the user namespace");
    }
    // Unshared here rather than by clone3, which would put us inside before the offsets are
    // written; after the user namespace, which must own it. /proc is still the agent's.
    if (spec.linux_spec.has(spec::NamespaceType::kTime) &&
        !spec.linux_spec.namespace_paths.contains(spec::NamespaceType::kTime)) {
      enter_new_time_namespace(spec.linux_spec.time_offsets);
    }
    enter_root_filesystem(spec, context.rootfs);
    configure_namespaces(spec);
    restrict_root_filesystem(spec);
    if (spec.process.terminal) {
      Pty pty = open_pty(spec.process);
      channel.send_fd(kMsgPty, pty.master.get());
      make_controlling_terminal(pty.slave.get());
    }
    channel.send(kMsgReady);
    auto start = channel.receive(kForever);
    if (!start || *start != kMsgStart) ::_exit(kExitSetupFailed);  // removed before start
  } catch (const std::exception& e) {
    child_exit(channel, e.what(), kExitSetupFailed);
  }
  try {
    // Before seccomp, which may allow personality(2) only with some arguments.
    if (spec.linux_spec.personality) apply_personality(*spec.linux_spec.personality);
    enter_security_context(spec.process, context.seccomp);
    run_start_container_hooks(spec, context.container_id, context.bundle);
    exec_process(spec.process);
  } catch (const std::exception& e) {
    child_exit(channel, e.what(), kExitExecFailed);
  }
}

// A process joining a running container: the helper joins the cgroup and namespaces, then
// forks the real process with CLONE_PARENT so the agent, not the helper, is its parent (a
// process cannot move itself into a PID namespace; only its children start there).
[[noreturn]] void run_exec_helper(const LaunchContext& context, const NamespaceSet& namespaces,
                                  std::vector<int> keep, const spec::ProcessSpec& process,
                                  const ChildStdio& stdio, const SyncChannel& channel) {
  try {
    keep.push_back(channel.fd());
    reset_child(stdio, keep);
    if (context.cgroup != nullptr) context.cgroup->add_process(0);  // 0: the writer itself
    namespaces.enter();
    Pty pty;
    if (process.terminal) {
      pty = open_pty(process);
      channel.send_fd(kMsgPty, pty.master.get());
      pty.master.reset();
    }
    pid_t pid = clone_child(CLONE_PARENT);
    if (pid == 0) {
      try {
        if (pty.slave) make_controlling_terminal(pty.slave.get());
        // The container's, as runc's setns init sets it for every process.
        if (context.spec.linux_spec.personality)
          apply_personality(*context.spec.linux_spec.personality);
        enter_security_context(process, context.seccomp);
        exec_process(process);
      } catch (const std::exception& e) {
        child_exit(channel, e.what(), kExitExecFailed);
      }
    }
    channel.send(std::string(kMsgPidPrefix) + std::to_string(pid));
    ::_exit(0);
  } catch (const std::exception& e) {
    child_exit(channel, e.what(), kExitSetupFailed);
  }
}

// ---- agent side ---------------------------------------------------------------------------

// Reads the child's next message: the child's error line becomes an Error. A pty master sent
// on the way is stored in *pty_master.
std::optional<std::string> expect_message(const SyncChannel& channel,
                                          UniqueFd* pty_master = nullptr) {
  for (;;) {
    UniqueFd fd;
    auto message = channel.receive(kChildTimeout, &fd);
    if (message && message->rfind(kMsgErrorPrefix, 0) == 0) {
      throw Error(message->substr(kMsgErrorPrefix.size()));
    }
    if (message && *message == kMsgPty && pty_master != nullptr) {
      if (!fd) throw Error("the child sent no pty master");
      *pty_master = std::move(fd);
      continue;
    }
    return message;
  }
}

}  // namespace

int exit_status_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

LaunchedInit launch_init(const LaunchContext& context, ChildStdio stdio) {
  check_lsm_labels(context.spec.process, context.spec.linux_spec.mount_label,
                   kernel_has_process_labels());
  NamespaceSet joined = context.namespace_fds ? NamespaceSet::open_paths(context.spec.linux_spec,
                                                                         *context.namespace_fds)
                                              : NamespaceSet::open_paths(context.spec.linux_spec);
  auto [agent_end, child_end] = SyncChannel::make_pair();
  // Those two are unshared by the child itself (see run_init_child).
  unsigned long flags = clone_flags(context.spec.linux_spec) & ~(CLONE_NEWCGROUP | CLONE_NEWTIME);
  pid_t pid;
  {
    PidNamespaceForChildren pid_namespace(joined.fd_of(spec::NamespaceType::kPid));
    pid = clone_child(flags);
  }
  if (pid == 0) {
    agent_end.close();
    run_init_child(context, joined, stdio, child_end);
  }
  ChildGuard guard(pid);
  child_end.close();
  stdio = {};  // the child has its copies; ours would hold the pipes open
  if (context.spec.linux_spec.has(spec::NamespaceType::kUser)) {
    write_id_mappings(pid, context.spec.linux_spec);
  }
  if (context.cgroup != nullptr) context.cgroup->add_process(pid);
  agent_end.send(kMsgSetupDone);
  UniqueFd pty_master;
  auto message = expect_message(agent_end, &pty_master);
  if (!message) throw Error("container init exited during setup");
  if (*message != kMsgReady) throw Error("container init sent an unexpected \"" + *message + "\"");
  if (context.spec.process.terminal && !pty_master) throw Error("container init sent no pty");
  guard.release();
  return {pid, std::move(agent_end), std::move(pty_master),
          kChildTimeout + start_container_hooks_budget(context.spec.start_container_hooks)};
}

void begin_start_init(LaunchedInit& init) { init.channel.send(kMsgStart); }

void finish_start_init(LaunchedInit& init) {
  auto message = init.channel.receive(std::chrono::milliseconds{0});
  init.channel.close();
  if (message && message->rfind(kMsgErrorPrefix, 0) == 0) {
    throw Error(message->substr(kMsgErrorPrefix.size()));
  }
}

LaunchedExec launch_exec(const LaunchContext& context, pid_t init_pid,
                         const spec::ProcessSpec& process, ChildStdio stdio) {
  check_lsm_labels(process, "", kernel_has_process_labels());
  NamespaceSet namespaces = NamespaceSet::open(init_pid, context.spec.linux_spec);
  std::vector<int> keep = namespaces.fds();
  auto [agent_end, child_end] = SyncChannel::make_pair();
  pid_t helper = clone_child(0);
  if (helper == 0) {
    agent_end.close();
    run_exec_helper(context, namespaces, keep, process, stdio, child_end);
  }
  ChildGuard helper_guard(helper);
  child_end.close();
  stdio = {};
  UniqueFd pty_master;
  auto message = expect_message(agent_end, &pty_master);
  if (!message || message->rfind(kMsgPidPrefix, 0) != 0) {
    throw Error("exec helper exited without starting the process");
  }
  pid_t pid = static_cast<pid_t>(std::stol(message->substr(kMsgPidPrefix.size())));
  helper_guard.reap();
  ChildGuard process_guard(pid);
  // End-of-file once the process has exec'd; an error line if it could not.
  expect_message(agent_end);
  if (process.terminal && !pty_master) throw Error("exec helper sent no pty");
  process_guard.release();
  return {pid, std::move(pty_master)};
}

}  // namespace kvrun::agent
