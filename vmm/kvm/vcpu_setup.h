// Register state for entering a Linux kernel (or a test guest) at its 64-bit entry point, as
// the x86 64-bit boot protocol allows: paging on with the identity map from long_mode.h,
// flat 64-bit segments from the GDT at layout::kGdtAddr, rsi = zero page. Pure functions of
// their inputs so they are unit-tested; vcpu.h applies them.
#pragma once

#include <linux/kvm.h>

#include <cstddef>
#include <cstdint>

namespace kvrun::vmm {

namespace x86 {
inline constexpr uint64_t kCr0Pe = 1ull << 0;
inline constexpr uint64_t kCr0Et = 1ull << 4;
inline constexpr uint64_t kCr0Ne = 1ull << 5;
inline constexpr uint64_t kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr4Pae = 1ull << 5;
inline constexpr uint64_t kEferLme = 1ull << 8;
inline constexpr uint64_t kEferLma = 1ull << 10;
inline constexpr uint64_t kRflagsReserved = 1ull << 1;  // always reads as one
inline constexpr uint16_t kFpuControlDefault = 0x37f;   // FNINIT value: all exceptions masked
inline constexpr uint32_t kMxcsrDefault = 0x1f80;       // all SSE exceptions masked

inline constexpr size_t kLapicLvtLint0 = 0x350;
inline constexpr size_t kLapicLvtLint1 = 0x360;
inline constexpr uint32_t kApicDeliveryNmi = 0x4;
inline constexpr uint32_t kApicDeliveryExtInt = 0x7;
}  // namespace x86

// The descriptor a CPU would load for `selector` from the packed GDT `entry`. The limit is
// expanded to bytes when the granularity bit is set, as KVM expects; a not-present
// descriptor becomes an unusable segment.
kvm_segment segment_from_gdt_entry(uint64_t entry, uint16_t selector);

// The GDT entries at layout::kCodeSelector and layout::kDataSelector, as written by
// write_gdt(); read back from guest memory so the registers always match what is there.
struct BootGdt {
  uint64_t code;
  uint64_t data;
};

// Long-mode special registers. Starts from `reset` (KVM_GET_SREGS of a fresh vCPU) so that
// what we do not set — TR, LDT, APIC base, pending interrupts — keeps KVM's valid values.
kvm_sregs long_mode_sregs(const kvm_sregs& reset, const BootGdt& gdt);

// General registers for the boot vCPU entering at `entry` with interrupts off.
kvm_regs boot_regs(uint64_t entry);

kvm_fpu boot_fpu();

// Wires LINT0 as ExtINT (the 8259 PIC's output) and LINT1 as NMI, like a PC's firmware, so
// a guest using the PIC in virtual-wire mode gets its interrupts.
void set_lint_delivery_modes(kvm_lapic_state& lapic);

uint32_t lapic_register(const kvm_lapic_state& lapic, size_t offset);
void set_lapic_register(kvm_lapic_state& lapic, size_t offset, uint32_t value);

}  // namespace kvrun::vmm
