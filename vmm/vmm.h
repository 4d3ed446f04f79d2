// kvrun-vmm as a function: boot one guest from a configuration and run it until it stops.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include "vmm/console_output.h"
#include "vmm/jail/jail.h"
#include "vmm/virtio_config.h"

namespace kvrun::vmm {

// Serial console on COM1; reboot through the keyboard controller (our i8042 handles exactly
// that) and one second after a panic so a broken guest ends instead of hanging; no modules
// to load; no i8042 AUX/MUX probing and no keyboard handshake, which our i8042 does not do.
inline constexpr std::string_view kDefaultCmdline =
    "console=ttyS0 reboot=k panic=1 nomodule i8042.noaux i8042.nomux i8042.dumbkbd";

inline constexpr uint64_t kDefaultMemoryMib = 128;
// Far beyond anything a microVM needs; keeps the byte count and the e820 map sane.
inline constexpr uint64_t kMaxMemoryMib = 1024 * 1024;

struct VmConfig {
  std::filesystem::path kernel;
  std::optional<std::filesystem::path> initrd;
  std::string cmdline{kDefaultCmdline};
  uint64_t memory_mib = kDefaultMemoryMib;
  unsigned vcpus = 1;
  std::optional<std::chrono::seconds> timeout;
  ConsoleLimit console;   // rate limit on the guest's serial output
  VirtioConfig virtio;    // each device is announced on the guest command line automatically
  jail::JailConfig jail;  // on unless --no-jail (docs/jail.md)
};

// Checks what can be checked without KVM: memory size, vCPU count, timeout, and that the
// kernel (and initramfs) can be opened. Throws kvrun::Error with one line of context.
void validate_config(const VmConfig& config);

// Boots and runs the guest. Returns kvrun-vmm's exit status (see docs/ARCHITECTURE.md); for
// a panic or timeout first writes "kvrun-vmm: <why>" to `diagnostics`. Throws kvrun::Error
// for every VMM error, including those raised on vCPU threads.
int run_vm(const VmConfig& config, std::ostream& diagnostics);

}  // namespace kvrun::vmm
