// Namespaces stage: which namespaces a container gets, creating its init inside them with
// clone3, writing its uid/gid maps from the agent, and joining them again for exec.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "agent/container/spec.h"
#include "common/unique_fd.h"

namespace kvrun::agent {

// CLONE_NEW* flags for the spec's namespaces.
unsigned long clone_flags(const LinuxSpec& spec);

// fork()-like clone3 with extra flags; exit signal SIGCHLD. Returns 0 in the child. The agent is
// single-threaded, so the child may keep using the C++ runtime.
pid_t clone_child(unsigned long flags);

// Agent side, while the child waits on its sync channel: /proc/<pid>/{uid_map,gid_map}.
void write_id_mappings(pid_t pid, const LinuxSpec& spec);

// Child side, after the mount stage has mounted /proc: hostname and sysctls.
void configure_namespaces(const ContainerSpec& spec);

// The namespaces of a running container, opened from /proc/<pid>/ns so an exec can join them.
class NamespaceSet {
 public:
  static NamespaceSet open(pid_t pid, const LinuxSpec& spec);
  // setns() into each, user namespace first so the others are joined with its privileges.
  // Must run in a single-threaded process; CLONE_NEWPID applies to the caller's next child.
  void enter() const;
  std::vector<int> fds() const;

 private:
  struct Entry {
    NamespaceType type;
    UniqueFd fd;
  };
  std::vector<Entry> entries_;
};

}  // namespace kvrun::agent
