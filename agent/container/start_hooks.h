// Running a container's startContainer hooks in its init, after the rootfs, namespaces and
// security context are in place and right before exec (runc's standard_init_linux.go does the
// same): the hook runs as the container's user with its capabilities and seccomp filter.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "spec/spec.h"

namespace kvrun::agent {

// The state the hooks read: the spec's state object, status "created", pid the init's own (1
// with a PID namespace of its own, as runc gives it). `bundle` is the host's bundle directory.
// A hook without env gets the container process's environment (runc's init runs hooks with
// it); one without a timeout kDefaultStartContainerHookTimeout. Throws the first failure's
// Error; the rest do not run.
void run_start_container_hooks(const spec::ContainerSpec& spec, std::string_view container_id,
                               std::string_view bundle);

}  // namespace kvrun::agent
