// Namespaces stage: which namespaces a container gets, creating its init inside them with
// clone3, writing its uid/gid maps from the agent, and joining them again for exec.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "spec/spec.h"

namespace kvrun::agent {

// The CLONE_NEW* flag of one namespace type (also setns's nstype).
unsigned long clone_flag(spec::NamespaceType type);

// The namespace's file name under /proc/<pid>/ns ("net" and "mnt" differ from the OCI names).
std::string proc_ns_name(spec::NamespaceType type);

// CLONE_NEW* flags for the namespaces the spec creates (not those it joins by path).
unsigned long clone_flags(const spec::LinuxSpec& spec);

// fork()-like clone3 with extra flags; exit signal SIGCHLD. Returns 0 in the child. The agent is
// single-threaded, so the child may keep using the C++ runtime.
pid_t clone_child(unsigned long flags);

// Agent side, while the child waits on its sync channel: /proc/<pid>/{uid_map,gid_map}.
void write_id_mappings(pid_t pid, const spec::LinuxSpec& spec);

// Child side, before any process is in it: unshares a time namespace, writes its clock offsets
// (possible only while the namespace is empty) and enters it; the container's processes are
// then all inside.
void enter_new_time_namespace(const std::vector<spec::TimeOffsetSpec>& offsets);

// Child side, after the mount stage has mounted /proc: hostname, domainname and sysctls.
void configure_namespaces(const spec::ContainerSpec& spec);

// The namespaces of a running container, opened from /proc/<pid>/ns so an exec can join them.
class NamespaceSet {
 public:
  static NamespaceSet open(pid_t pid, const spec::LinuxSpec& spec);
  // The namespaces the spec joins by path (linux.namespaces[].path), opened in the agent so a
  // bad path is reported before any process exists. A type in `instead` is joined through that
  // descriptor (duplicated) rather than its path: a pod's namespaces held by the agent.
  static NamespaceSet open_paths(const spec::LinuxSpec& spec,
                                 const std::map<spec::NamespaceType, int>& instead = {});
  // setns() into each, user namespace first so the others are joined with its privileges.
  // Must run in a single-threaded process; CLONE_NEWPID applies to the caller's next child.
  void enter() const;
  // enter() for all but the PID namespace, which only a child can be created in: see
  // PidNamespaceForChildren.
  void enter_except_pid() const;
  std::vector<int> fds() const;
  int fd_of(spec::NamespaceType type) const;  // -1 if not in the set

 private:
  struct Entry {
    spec::NamespaceType type;
    UniqueFd fd;
  };
  std::vector<Entry> entries_;
};

// While alive, the agent's next children start in the PID namespace `fd` (setns on a
// single-threaded process changes only where its children go); restores the agent's own after.
class PidNamespaceForChildren {
 public:
  explicit PidNamespaceForChildren(int fd);  // fd < 0: no change
  PidNamespaceForChildren(const PidNamespaceForChildren&) = delete;
  PidNamespaceForChildren& operator=(const PidNamespaceForChildren&) = delete;
  ~PidNamespaceForChildren();

 private:
  UniqueFd own_;
  pid_t owner_ = -1;  // a child cloned inside the scope must not restore anything
};

}  // namespace kvrun::agent
