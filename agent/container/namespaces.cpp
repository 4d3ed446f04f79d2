#include "agent/container/namespaces.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <string>

#include "common/error.h"

namespace kvrun::agent {
namespace {

// O_NONBLOCK: sysctls are written through the container's /proc, which is the image's own
// directory when the spec mounts no proc there; a FIFO must fail (ENXIO), not block the setup
// the agent waits for.
void write_file(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd) throw_errno("open " + path);
  ssize_t n = ::write(fd.get(), content.data(), content.size());
  if (n < 0) throw_errno("write " + path);
  if (static_cast<std::size_t>(n) != content.size()) throw Error("short write to " + path);
}

std::string format_mappings(const std::vector<spec::IdMapping>& mappings) {
  std::string out;
  for (const auto& m : mappings) {
    out += std::to_string(m.container_id) + " " + std::to_string(m.host_id) + " " +
           std::to_string(m.size) + "\n";
  }
  return out;
}

}  // namespace

unsigned long clone_flag(spec::NamespaceType type) {
  switch (type) {
    case spec::NamespaceType::kPid:
      return CLONE_NEWPID;
    case spec::NamespaceType::kNetwork:
      return CLONE_NEWNET;
    case spec::NamespaceType::kMount:
      return CLONE_NEWNS;
    case spec::NamespaceType::kIpc:
      return CLONE_NEWIPC;
    case spec::NamespaceType::kUts:
      return CLONE_NEWUTS;
    case spec::NamespaceType::kUser:
      return CLONE_NEWUSER;
    case spec::NamespaceType::kCgroup:
      return CLONE_NEWCGROUP;
    case spec::NamespaceType::kTime:
      return CLONE_NEWTIME;
  }
  return 0;
}

// /proc/<pid>/ns names differ from the OCI ones for two types.
std::string proc_ns_name(spec::NamespaceType type) {
  switch (type) {
    case spec::NamespaceType::kNetwork:
      return "net";
    case spec::NamespaceType::kMount:
      return "mnt";
    default:
      return std::string(spec::namespace_name(type));
  }
}

unsigned long clone_flags(const spec::LinuxSpec& spec) {
  unsigned long flags = 0;
  for (auto type : spec.namespaces) {
    if (!spec.namespace_paths.contains(type)) flags |= clone_flag(type);
  }
  return flags;
}

pid_t clone_child(unsigned long flags) {
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = flags;
  // With CLONE_PARENT the child reports to our parent with our own exit signal; clone3 insists
  // on 0 here then.
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) throw_errno("clone3");
  return static_cast<pid_t>(pid);
}

void write_id_mappings(pid_t pid, const spec::LinuxSpec& spec) {
  std::string proc = "/proc/" + std::to_string(pid);
  write_file(proc + "/uid_map", format_mappings(spec.uid_mappings));
  write_file(proc + "/gid_map", format_mappings(spec.gid_mappings));
}

void enter_new_time_namespace(const std::vector<spec::TimeOffsetSpec>& offsets) {
  if (::unshare(CLONE_NEWTIME) != 0) throw_errno("unshare the time namespace");
  std::string text;
  for (const auto& o : offsets) {
    text += o.clock + " " + std::to_string(o.seconds) + " " + std::to_string(o.nanoseconds) + "\n";
  }
  if (!text.empty()) write_file("/proc/self/timens_offsets", text);
  UniqueFd fd(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("open /proc/self/ns/time_for_children");
  if (::setns(fd.get(), CLONE_NEWTIME) != 0) throw_errno("setns into the new time namespace");
}

void configure_namespaces(const spec::ContainerSpec& spec) {
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
    throw_errno("sethostname " + spec.hostname);
  }
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.data(), spec.domainname.size()) != 0) {
    throw_errno("setdomainname " + spec.domainname);
  }
  for (const auto& [key, value] : spec.linux_spec.sysctl) {
    std::string path = "/proc/sys/" + key;
    for (auto& c : path) {
      if (c == '.') c = '/';
    }
    try {
      write_file(path, value);
    } catch (const Error& e) {
      throw Error("sysctl " + key + ": " + e.what());
    }
  }
}

NamespaceSet NamespaceSet::open(pid_t pid, const spec::LinuxSpec& spec) {
  NamespaceSet set;
  // User namespace first: joining it grants the capabilities needed to join the others.
  std::vector<spec::NamespaceType> order;
  if (spec.has(spec::NamespaceType::kUser)) order.push_back(spec::NamespaceType::kUser);
  for (auto type : spec.namespaces) {
    if (type != spec::NamespaceType::kUser) order.push_back(type);
  }
  for (auto type : order) {
    std::string path = "/proc/" + std::to_string(pid) + "/ns/" + proc_ns_name(type);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + path);
    set.entries_.push_back({type, std::move(fd)});
  }
  return set;
}

std::vector<int> NamespaceSet::fds() const {
  std::vector<int> out;
  for (const auto& entry : entries_) out.push_back(entry.fd.get());
  return out;
}

NamespaceSet NamespaceSet::open_paths(const spec::LinuxSpec& spec,
                                      const std::map<spec::NamespaceType, int>& instead) {
  NamespaceSet set;
  for (const auto& [type, path] : spec.namespace_paths) {
    if (auto it = instead.find(type); it != instead.end()) {
      UniqueFd fd(::fcntl(it->second, F_DUPFD_CLOEXEC, 3));
      if (!fd)
        throw_errno("dup the sandbox's " + std::string(spec::namespace_name(type)) + " namespace");
      set.entries_.push_back({type, std::move(fd)});
      continue;
    }
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw_errno("open " + std::string(spec::namespace_name(type)) + " namespace " + path);
    set.entries_.push_back({type, std::move(fd)});
  }
  return set;
}

int NamespaceSet::fd_of(spec::NamespaceType type) const {
  for (const auto& entry : entries_) {
    if (entry.type == type) return entry.fd.get();
  }
  return -1;
}

void NamespaceSet::enter_except_pid() const {
  for (const auto& entry : entries_) {
    if (entry.type == spec::NamespaceType::kPid) continue;
    if (::setns(entry.fd.get(), static_cast<int>(clone_flag(entry.type))) != 0) {
      throw_errno("setns into the " + std::string(spec::namespace_name(entry.type)) + " namespace");
    }
  }
}

PidNamespaceForChildren::PidNamespaceForChildren(int fd) {
  if (fd < 0) return;
  owner_ = ::getpid();
  own_ = UniqueFd(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  if (!own_) throw_errno("open /proc/self/ns/pid");
  if (::setns(fd, CLONE_NEWPID) != 0) throw_errno("setns into the pid namespace to join");
}

PidNamespaceForChildren::~PidNamespaceForChildren() {
  // Cannot fail for the caller's own active namespace.
  if (own_ && ::getpid() == owner_) ::setns(own_.get(), CLONE_NEWPID);
}

void NamespaceSet::enter() const {
  for (const auto& entry : entries_) {
    if (::setns(entry.fd.get(), static_cast<int>(clone_flag(entry.type))) != 0) {
      throw_errno("setns into the " + std::string(spec::namespace_name(entry.type)) + " namespace");
    }
  }
}

}  // namespace kvrun::agent
