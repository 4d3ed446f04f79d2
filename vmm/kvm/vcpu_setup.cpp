#include "vmm/kvm/vcpu_setup.h"

#include <cstring>

#include "vmm/boot/layout.h"

namespace kvrun::vmm {

namespace {

constexpr uint16_t kGdtEntries = 4;  // null, null, code64, data: see long_mode.h

uint8_t bit(uint64_t value, unsigned n) { return static_cast<uint8_t>((value >> n) & 1); }

}  // namespace

kvm_segment segment_from_gdt_entry(uint64_t entry, uint16_t selector) {
  kvm_segment seg{};
  seg.base = ((entry >> 16) & 0xffffff) | (((entry >> 56) & 0xff) << 24);
  const uint32_t raw_limit =
      static_cast<uint32_t>((entry & 0xffff) | (((entry >> 48) & 0xf) << 16));
  seg.g = bit(entry, 55);
  seg.limit = seg.g ? (raw_limit << 12) | 0xfff : raw_limit;
  seg.selector = selector;
  seg.type = static_cast<uint8_t>((entry >> 40) & 0xf);
  seg.s = bit(entry, 44);
  seg.dpl = static_cast<uint8_t>((entry >> 45) & 0x3);
  seg.present = bit(entry, 47);
  seg.avl = bit(entry, 52);
  seg.l = bit(entry, 53);
  seg.db = bit(entry, 54);
  seg.unusable = seg.present ? 0 : 1;
  return seg;
}

kvm_sregs long_mode_sregs(const kvm_sregs& reset, const BootGdt& gdt) {
  kvm_sregs sregs = reset;
  sregs.cs = segment_from_gdt_entry(gdt.code, layout::kCodeSelector);
  const kvm_segment data = segment_from_gdt_entry(gdt.data, layout::kDataSelector);
  sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;

  sregs.gdt.base = layout::kGdtAddr;
  sregs.gdt.limit = kGdtEntries * sizeof(uint64_t) - 1;
  // No IDT: interrupts stay off until the kernel loads its own.
  sregs.idt.base = layout::kIdtAddr;
  sregs.idt.limit = 0;

  // Caches on (reset leaves CD/NW set), native FPU error reporting, protection and paging.
  sregs.cr0 = x86::kCr0Pe | x86::kCr0Et | x86::kCr0Ne | x86::kCr0Pg;
  sregs.cr3 = layout::kPml4Addr;
  sregs.cr4 = x86::kCr4Pae;
  sregs.efer = x86::kEferLme | x86::kEferLma;
  return sregs;
}

kvm_regs boot_regs(uint64_t entry) {
  kvm_regs regs{};
  regs.rflags = x86::kRflagsReserved;
  regs.rip = entry;
  regs.rsp = layout::kBootStackTop;
  regs.rbp = layout::kBootStackTop;
  regs.rsi = layout::kZeroPageAddr;  // boot protocol: rsi points at struct boot_params
  return regs;
}

kvm_fpu boot_fpu() {
  kvm_fpu fpu{};
  fpu.fcw = x86::kFpuControlDefault;
  fpu.mxcsr = x86::kMxcsrDefault;
  return fpu;
}

uint32_t lapic_register(const kvm_lapic_state& lapic, size_t offset) {
  uint32_t value = 0;
  std::memcpy(&value, lapic.regs + offset, sizeof(value));
  return value;
}

void set_lapic_register(kvm_lapic_state& lapic, size_t offset, uint32_t value) {
  std::memcpy(lapic.regs + offset, &value, sizeof(value));
}

void set_lint_delivery_modes(kvm_lapic_state& lapic) {
  auto set_mode = [&](size_t reg, uint32_t mode) {
    const uint32_t value = lapic_register(lapic, reg);
    set_lapic_register(lapic, reg, (value & ~0x700u) | (mode << 8));
  };
  set_mode(x86::kLapicLvtLint0, x86::kApicDeliveryExtInt);
  set_mode(x86::kLapicLvtLint1, x86::kApicDeliveryNmi);
}

}  // namespace kvrun::vmm
