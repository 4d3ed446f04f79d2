#include "spec/capability_names.h"

#include <linux/capability.h>

#include <array>
#include <utility>

namespace kvrun::spec {
namespace {

#define KVRUN_CAP(name) \
  std::pair<std::string_view, int> { #name, name }
constexpr std::array kCapabilities = {
    KVRUN_CAP(CAP_CHOWN),
    KVRUN_CAP(CAP_DAC_OVERRIDE),
    KVRUN_CAP(CAP_DAC_READ_SEARCH),
    KVRUN_CAP(CAP_FOWNER),
    KVRUN_CAP(CAP_FSETID),
    KVRUN_CAP(CAP_KILL),
    KVRUN_CAP(CAP_SETGID),
    KVRUN_CAP(CAP_SETUID),
    KVRUN_CAP(CAP_SETPCAP),
    KVRUN_CAP(CAP_LINUX_IMMUTABLE),
    KVRUN_CAP(CAP_NET_BIND_SERVICE),
    KVRUN_CAP(CAP_NET_BROADCAST),
    KVRUN_CAP(CAP_NET_ADMIN),
    KVRUN_CAP(CAP_NET_RAW),
    KVRUN_CAP(CAP_IPC_LOCK),
    KVRUN_CAP(CAP_IPC_OWNER),
    KVRUN_CAP(CAP_SYS_MODULE),
    KVRUN_CAP(CAP_SYS_RAWIO),
    KVRUN_CAP(CAP_SYS_CHROOT),
    KVRUN_CAP(CAP_SYS_PTRACE),
    KVRUN_CAP(CAP_SYS_PACCT),
    KVRUN_CAP(CAP_SYS_ADMIN),
    KVRUN_CAP(CAP_SYS_BOOT),
    KVRUN_CAP(CAP_SYS_NICE),
    KVRUN_CAP(CAP_SYS_RESOURCE),
    KVRUN_CAP(CAP_SYS_TIME),
    KVRUN_CAP(CAP_SYS_TTY_CONFIG),
    KVRUN_CAP(CAP_MKNOD),
    KVRUN_CAP(CAP_LEASE),
    KVRUN_CAP(CAP_AUDIT_WRITE),
    KVRUN_CAP(CAP_AUDIT_CONTROL),
    KVRUN_CAP(CAP_SETFCAP),
    KVRUN_CAP(CAP_MAC_OVERRIDE),
    KVRUN_CAP(CAP_MAC_ADMIN),
    KVRUN_CAP(CAP_SYSLOG),
    KVRUN_CAP(CAP_WAKE_ALARM),
    KVRUN_CAP(CAP_BLOCK_SUSPEND),
    KVRUN_CAP(CAP_AUDIT_READ),
    KVRUN_CAP(CAP_PERFMON),
    KVRUN_CAP(CAP_BPF),
    KVRUN_CAP(CAP_CHECKPOINT_RESTORE),
};
#undef KVRUN_CAP

}  // namespace

std::optional<int> capability_from_name(std::string_view name) {
  for (const auto& [cap_name, value] : kCapabilities) {
    if (cap_name == name) return value;
  }
  return std::nullopt;
}

}  // namespace kvrun::spec
