// Stopping the VM from inside: PID 1 must never exit (the kernel would panic), so every way out
// of the agent ends here. kvrun-vmm has no ACPI; it stops when the guest writes a status byte to
// its exit port, and becomes that process's exit status. Where the port is missing (QEMU, or a
// kernel without ioperm) a reboot follows, which with reboot=k is an i8042 reset that kvrun-vmm
// and `qemu -no-reboot` both treat as a stop.
#pragma once

namespace kvrun::agent {

// Guest exit statuses the agent uses (kvrun-vmm's own are 1, 124 and 125).
inline constexpr int kGuestExitClean = 0;
inline constexpr int kGuestExitAgentFailed = 70;  // fatal agent error, reason on the console

// Must match kvrun::vmm::layout::kExitPort (vmm/boot/layout.h).
inline constexpr unsigned short kExitPort = 0x510;

// Syncs, drains the console and stops the VM with status. Never returns.
[[noreturn]] void power_off(int status);

// One line on the console, unbuffered, so it is not lost when the VM stops right after.
void console_line(const char* text);

}  // namespace kvrun::agent
