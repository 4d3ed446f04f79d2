#include "agent/container/sandbox_namespaces.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>

#include "agent/container/namespaces.h"
#include "agent/container/sync_channel.h"
#include "common/error.h"

namespace kvrun::agent {
namespace {

constexpr std::chrono::milliseconds kChildTimeout{30000};
constexpr std::chrono::milliseconds kForever{-1};

void bring_loopback_up() {
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket for the loopback interface");
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd.get(), SIOCGIFFLAGS, &request) != 0) throw_errno("get the flags of lo");
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
  if (::ioctl(fd.get(), SIOCSIFFLAGS, &request) != 0) throw_errno("bring lo up");
}

// A pod shares only these: they carry no per-container state (the pid and mount namespaces do).
void check_shareable(spec::NamespaceType type) {
  if (type != spec::NamespaceType::kNetwork && type != spec::NamespaceType::kIpc &&
      type != spec::NamespaceType::kUts) {
    throw Error("a sandbox cannot share the " + std::string(spec::namespace_name(type)) +
                " namespace");
  }
}

// The child that creates the namespaces: sets them up, says so, and lives until the agent has
// opened them.
[[noreturn]] void run_child(const std::vector<spec::NamespaceType>& types,
                            const std::string& hostname, const SyncChannel& channel) {
  try {
    if (!hostname.empty() && ::sethostname(hostname.data(), hostname.size()) != 0) {
      throw_errno("sethostname " + hostname);
    }
    for (auto type : types) {
      if (type == spec::NamespaceType::kNetwork) bring_loopback_up();
    }
    channel.send(kMsgReady);
    channel.receive(kForever);  // end-of-file: the agent holds the namespaces now
    ::_exit(0);
  } catch (const std::exception& e) {
    try {
      channel.send(std::string(kMsgErrorPrefix) + e.what());
    } catch (...) {
    }
    ::_exit(1);
  }
}

}  // namespace

SandboxNamespaces SandboxNamespaces::create(const std::vector<spec::NamespaceType>& types,
                                            const std::string& hostname) {
  unsigned long flags = 0;
  for (auto type : types) {
    check_shareable(type);
    flags |= clone_flag(type);
  }
  // Never the agent's own hostname.
  if (!hostname.empty() && !(flags & CLONE_NEWUTS)) throw Error("a hostname needs a uts namespace");
  auto [agent_end, child_end] = SyncChannel::make_pair();
  pid_t pid = clone_child(flags);
  if (pid == 0) {
    agent_end.close();
    run_child(types, hostname, child_end);
  }
  child_end.close();
  // The child is ours alone until it is reaped here; the supervisor never sees it.
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  } reaper{pid};
  auto message = agent_end.receive(kChildTimeout);
  if (message && message->rfind(kMsgErrorPrefix, 0) == 0) {
    throw Error("sandbox namespaces: " + message->substr(kMsgErrorPrefix.size()));
  }
  if (!message || *message != kMsgReady) throw Error("sandbox namespaces: the child failed");
  SandboxNamespaces held;
  for (auto type : types) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + proc_ns_name(type);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    held.fds_.emplace(type, std::move(fd));
  }
  return held;
}

int SandboxNamespaces::fd_of(spec::NamespaceType type) const {
  auto it = fds_.find(type);
  return it == fds_.end() ? -1 : it->second.get();
}

std::map<spec::NamespaceType, int> SandboxNamespaces::replacements_for(
    const spec::LinuxSpec& spec) const {
  std::map<spec::NamespaceType, int> out;
  for (const auto& [type, path] : spec.namespace_paths) {
    if (int fd = fd_of(type); fd >= 0) out.emplace(type, fd);
  }
  return out;
}

}  // namespace kvrun::agent
