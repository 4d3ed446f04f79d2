// Fixed guest-physical layout shared by the boot code, the vCPU setup and the devices.
#pragma once

#include <cstdint>

namespace kvrun::vmm::layout {

// Low memory used while entering the kernel (all below the 640 KiB EBDA).
inline constexpr uint64_t kGdtAddr = 0x500;
inline constexpr uint64_t kIdtAddr = 0x520;
inline constexpr uint64_t kZeroPageAddr = 0x7000;  // struct boot_params
inline constexpr uint64_t kBootStackTop = 0x8ff0;
inline constexpr uint64_t kPml4Addr = 0x9000;
inline constexpr uint64_t kPdptAddr = 0xa000;
inline constexpr uint64_t kPdAddr = 0xb000;  // 4 page directories: identity map of 4 GiB
inline constexpr uint64_t kIdentityMapBytes = 4ull << 30;
inline constexpr uint64_t kCmdlineAddr = 0x20000;
inline constexpr uint64_t kCmdlineMaxSize = 4096;  // includes the terminating NUL
inline constexpr uint64_t kEbdaStart = 0x9fc00;
inline constexpr uint64_t kHighMemStart = 0x100000;  // 1 MiB: where kernels are loaded

// GDT selectors written at kGdtAddr: null, null, code64, data.
inline constexpr uint16_t kCodeSelector = 0x10;
inline constexpr uint16_t kDataSelector = 0x18;

// [kMmioGapStart, 4 GiB) holds no RAM: devices live there.
inline constexpr uint64_t kMmioGapStart = 0xc0000000;
inline constexpr uint64_t kMmioGapEnd = 0x100000000;
inline constexpr uint64_t kVirtioMmioBase = 0xd0000000;
inline constexpr uint64_t kVirtioMmioSize = 0x1000;

// The IOAPIC's 24 pins, all described in the MP table as edge-triggered, active high.
inline constexpr unsigned kIoapicPins = 24;
// IRQs for virtio-mmio devices, in the order devices get them: the ISA lines no legacy device
// of ours or driver of the guest's claims (not 0-4 timer/keyboard/cascade/COM2/COM1, 8 RTC,
// 12 mouse, 13 FPU, 14-15 IDE), then the pins above the ISA range.
inline constexpr uint32_t kVirtioIrqs[] = {5, 6, 7, 9, 10, 11, 16, 17, 18, 19, 20, 21, 22, 23};
inline constexpr unsigned kMaxVirtioDevices = sizeof(kVirtioIrqs) / sizeof(kVirtioIrqs[0]);

// Multiprocessor table (Linux finds the vCPUs and the IOAPIC through it), in the EBDA.
inline constexpr uint64_t kMpTableAddr = kEbdaStart;

// kvrun's exit port: a guest writes one byte here and the VMM ends with that status.
inline constexpr uint16_t kExitPort = 0x510;
// The pvpanic port (devices/pvpanic.h): the guest kernel reports a panic here. QEMU's port.
inline constexpr uint16_t kPvPanicPort = 0x505;

// Minimum guest memory we accept (page tables, zero page, a kernel and an initramfs).
inline constexpr uint64_t kMinMemoryBytes = 16ull << 20;

}  // namespace kvrun::vmm::layout
