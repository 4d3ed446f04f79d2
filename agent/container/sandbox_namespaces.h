// Pods: the network, IPC and UTS namespaces a sandbox's containers share, created once by
// CreateSandbox. The agent holds them by open nsfs descriptors (a namespace lives as long as a
// descriptor refers to it, no holder process needed), and a container of the sandbox joins
// them where the host's config named another process's namespace by path.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "spec/spec.h"

namespace kvrun::agent {

class SandboxNamespaces {
 public:
  // types: kNetwork, kIpc, kUts. A new network namespace gets its loopback up; hostname (if not
  // empty) is set in the new UTS namespace. Throws Error; nothing is left behind then.
  static SandboxNamespaces create(const std::vector<spec::NamespaceType>& types,
                                  const std::string& hostname);

  // The held namespace of that type, or -1.
  int fd_of(spec::NamespaceType type) const;
  // type -> fd for the namespaces of spec that name a path and are held here: these are joined
  // instead of the paths.
  std::map<spec::NamespaceType, int> replacements_for(const spec::LinuxSpec& spec) const;

 private:
  std::map<spec::NamespaceType, UniqueFd> fds_;
};

}  // namespace kvrun::agent
