// process.apparmorProfile, process.selinuxLabel and linux.mountLabel. The guest kernel has no
// LSM, while the engines (containerd, podman) fill these in from the host's: runc would refuse
// them where the LSM is missing, which would make every container from an AppArmor or SELinux
// host fail in a VM whose isolation does not depend on them. So they are accepted, logged and
// not applied where the kernel has no LSM with process labels, and refused where it has one
// (a host sandbox on such a host), since the agent cannot apply them there either.
#pragma once

#include <string>

#include "spec/spec.h"

namespace kvrun::agent {

// Whether the running kernel has an LSM with process labels (/proc/self/attr/current reads).
bool kernel_has_process_labels();

// Throws Error naming the first label the kernel would enforce; logs the accepted ones.
void check_lsm_labels(const spec::ProcessSpec& process, const std::string& mount_label,
                      bool kernel_has_labels);

}  // namespace kvrun::agent
