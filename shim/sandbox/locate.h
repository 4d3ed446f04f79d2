// Where kvrun finds its helpers: kvrun-vmm, kvrun-agent (host sandboxes), the guest kernel and
// initramfs. Order for each: explicit flag, environment variable, the installed location, then
// the build tree this kvrun binary came from.
//
//   kvrun-vmm    KVRUN_VMM     <dir of kvrun>/kvrun-vmm, <build>/vmm/kvrun-vmm, PATH
//   kvrun-agent  KVRUN_AGENT   <dir of kvrun>/kvrun-agent, <build>/agent/kvrun-agent, PATH
//   kernel       --kernel, KVRUN_KERNEL, /usr/local/share/kvrun/vmlinux,
//                kernel-config/build-kernel.sh --print-path (source tree)
//   initramfs    --initrd, KVRUN_INITRD, /usr/local/share/kvrun/initramfs.cpio.gz,
//                <build>/guest-rootfs/initramfs.cpio.gz
#pragma once

#include <filesystem>
#include <string>

namespace kvrun::sandbox {

inline constexpr const char* kShareDir = "/usr/local/share/kvrun";

// Each throws Error("<what> not found: <what was tried>") when nothing exists.
std::filesystem::path find_vmm();
std::filesystem::path find_agent();
std::filesystem::path find_kernel(const std::string& flag);
std::filesystem::path find_initrd(const std::string& flag);

}  // namespace kvrun::sandbox
