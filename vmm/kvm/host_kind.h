// Which kind of KVM we run on. PVM (KVM in a guest without hardware virtualisation) runs an
// unmodified guest kernel through KVM's instruction emulator far more often than VMX/SVM do,
// and that emulator lacks some instructions; vCPUs on PVM must not advertise them (cpuid.h).
#pragma once

#include <filesystem>
#include <string_view>

namespace kvrun::vmm {

enum class HostKind { kHardware, kPvm };

// PVM when <sysfs_root>/module/kvm_pvm exists and neither kvm_intel nor kvm_amd does (those
// would be the backend KVM uses instead). A parameter so tests can build a fake tree.
HostKind detect_host_kind(const std::filesystem::path& sysfs_root = "/sys");

std::string_view to_string(HostKind kind);

}  // namespace kvrun::vmm
