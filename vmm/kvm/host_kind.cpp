#include "vmm/kvm/host_kind.h"

#include <system_error>

namespace kvrun::vmm {

namespace {

bool module_loaded(const std::filesystem::path& sysfs_root, const char* name) {
  std::error_code ec;  // unreadable counts as absent: detection must not fail the VM
  return std::filesystem::exists(sysfs_root / "module" / name, ec);
}

}  // namespace

HostKind detect_host_kind(const std::filesystem::path& sysfs_root) {
  if (module_loaded(sysfs_root, "kvm_pvm") && !module_loaded(sysfs_root, "kvm_intel") &&
      !module_loaded(sysfs_root, "kvm_amd")) {
    return HostKind::kPvm;
  }
  return HostKind::kHardware;
}

std::string_view to_string(HostKind kind) {
  switch (kind) {
    case HostKind::kHardware:
      return "hardware";
    case HostKind::kPvm:
      return "pvm";
  }
  return "unknown";
}

}  // namespace kvrun::vmm
