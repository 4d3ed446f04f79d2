// Register state for the 64-bit boot entry, and the GDT-to-segment conversion behind it.
#include "vmm/kvm/vcpu_setup.h"

#include <gtest/gtest.h>

#include "vmm/boot/layout.h"
#include "vmm/boot/long_mode.h"
#include "vmm/memory/guest_memory.h"

namespace kvrun::vmm {
namespace {

TEST(VcpuSetup, Code64SegmentFromGdtEntry) {
  const kvm_segment cs = segment_from_gdt_entry(gdt_entry(0xa09b, 0, 0xfffff), 0x10);
  EXPECT_EQ(cs.selector, 0x10);
  EXPECT_EQ(cs.base, 0u);
  EXPECT_EQ(cs.limit, 0xffffffffu) << "4 KiB granularity expands the limit";
  EXPECT_EQ(cs.type, 0xb);
  EXPECT_EQ(cs.present, 1);
  EXPECT_EQ(cs.dpl, 0);
  EXPECT_EQ(cs.s, 1);
  EXPECT_EQ(cs.l, 1);
  EXPECT_EQ(cs.db, 0);
  EXPECT_EQ(cs.g, 1);
  EXPECT_EQ(cs.avl, 0);
  EXPECT_EQ(cs.unusable, 0);
}

TEST(VcpuSetup, DataSegmentFromGdtEntry) {
  const kvm_segment ds = segment_from_gdt_entry(gdt_entry(0xc093, 0, 0xfffff), 0x18);
  EXPECT_EQ(ds.type, 0x3);
  EXPECT_EQ(ds.l, 0);
  EXPECT_EQ(ds.db, 1);
  EXPECT_EQ(ds.g, 1);
  EXPECT_EQ(ds.present, 1);
  EXPECT_EQ(ds.limit, 0xffffffffu);
}

TEST(VcpuSetup, BaseLimitAndFlagsDecodeFromEveryField) {
  // Byte-granular, DPL 3, available bit set, base and limit spread over the packed fields.
  const uint64_t entry = 0x12'1a'f3'345678'bcdeull;  // base 0x12345678, limit 0xabcde
  const kvm_segment seg = segment_from_gdt_entry(entry, 0x2b);
  EXPECT_EQ(seg.base, 0x12345678u);
  EXPECT_EQ(seg.limit, 0xabcdeu);
  EXPECT_EQ(seg.g, 0);
  EXPECT_EQ(seg.avl, 1);
  EXPECT_EQ(seg.dpl, 3);
  EXPECT_EQ(seg.type, 0x3);
  EXPECT_EQ(seg.s, 1);
  EXPECT_EQ(seg.present, 1);
  EXPECT_EQ(seg.selector, 0x2b);
  EXPECT_EQ(segment_from_gdt_entry(gdt_entry(0xc093, 0x12345678, 0xabcde), 0).base, 0x12345678u);
}

TEST(VcpuSetup, NotPresentDescriptorIsUnusable) {
  EXPECT_EQ(segment_from_gdt_entry(0, 0).unusable, 1);
  EXPECT_EQ(segment_from_gdt_entry(0, 0).present, 0);
}

TEST(VcpuSetup, TheGdtTheBootCodeWritesGivesLongModeSegments) {
  GuestMemory memory = GuestMemory::create(layout::kMinMemoryBytes);
  write_gdt(memory);
  const BootGdt gdt{memory.read_obj<uint64_t>(layout::kGdtAddr + layout::kCodeSelector),
                    memory.read_obj<uint64_t>(layout::kGdtAddr + layout::kDataSelector)};
  const kvm_sregs s = long_mode_sregs(kvm_sregs{}, gdt);
  EXPECT_EQ(s.cs.l, 1);
  EXPECT_EQ(s.cs.present, 1);
  EXPECT_EQ(s.cs.type & 0x8, 0x8) << "code";
  EXPECT_EQ(s.ss.type & 0x8, 0) << "data";
  EXPECT_EQ(s.ss.type & 0x2, 0x2) << "writable: SS requires it";
}

TEST(VcpuSetup, LongModeSpecialRegisters) {
  kvm_sregs reset{};
  reset.tr.selector = 0x42;  // fields we do not own survive
  reset.tr.type = 0xb;
  reset.apic_base = 0xfee00900;
  reset.cr0 = 0x60000010;  // CD | NW | ET, the reset value
  const BootGdt gdt{gdt_entry(0xa09b, 0, 0xfffff), gdt_entry(0xc093, 0, 0xfffff)};
  const kvm_sregs s = long_mode_sregs(reset, gdt);

  EXPECT_EQ(s.cs.selector, layout::kCodeSelector);
  EXPECT_EQ(s.cs.l, 1);
  for (const kvm_segment* seg : {&s.ds, &s.es, &s.fs, &s.gs, &s.ss}) {
    EXPECT_EQ(seg->selector, layout::kDataSelector);
    EXPECT_EQ(seg->type, 0x3);
  }
  EXPECT_EQ(s.gdt.base, layout::kGdtAddr);
  EXPECT_EQ(s.gdt.limit, 4 * 8 - 1);
  EXPECT_EQ(s.idt.base, layout::kIdtAddr);
  EXPECT_EQ(s.cr0 & (x86::kCr0Pe | x86::kCr0Pg), x86::kCr0Pe | x86::kCr0Pg);
  EXPECT_EQ(s.cr0 & 0x60000000u, 0u) << "caches enabled";
  EXPECT_EQ(s.cr3, layout::kPml4Addr);
  EXPECT_EQ(s.cr4, x86::kCr4Pae);
  EXPECT_EQ(s.efer, x86::kEferLme | x86::kEferLma);
  EXPECT_EQ(s.tr.selector, 0x42);
  EXPECT_EQ(s.tr.type, 0xb);
  EXPECT_EQ(s.apic_base, 0xfee00900u);
}

TEST(VcpuSetup, BootRegistersFollowThe64BitBootProtocol) {
  const kvm_regs r = boot_regs(0x1000000);
  EXPECT_EQ(r.rip, 0x1000000u);
  EXPECT_EQ(r.rsi, layout::kZeroPageAddr);
  EXPECT_EQ(r.rsp, layout::kBootStackTop);
  EXPECT_EQ(r.rbp, layout::kBootStackTop);
  EXPECT_EQ(r.rflags, 0x2u) << "interrupts off";
  EXPECT_EQ(r.rax | r.rbx | r.rcx | r.rdx | r.rdi, 0u);
}

TEST(VcpuSetup, BootFpu) {
  const kvm_fpu f = boot_fpu();
  EXPECT_EQ(f.fcw, 0x37f);
  EXPECT_EQ(f.mxcsr, 0x1f80u);
}

TEST(VcpuSetup, LintDeliveryModesLeaveEverythingElse) {
  kvm_lapic_state lapic{};
  for (size_t off = 0; off < KVM_APIC_REG_SIZE; off += 16) {
    set_lapic_register(lapic, off, static_cast<uint32_t>(0x10000 | off));
  }
  set_lapic_register(lapic, x86::kLapicLvtLint0, 0x10000 | 0x200);  // masked, SMI
  set_lapic_register(lapic, x86::kLapicLvtLint1, 0x10000);          // masked, fixed
  kvm_lapic_state before = lapic;
  set_lint_delivery_modes(lapic);
  EXPECT_EQ(lapic_register(lapic, x86::kLapicLvtLint0), 0x10700u) << "ExtINT, mask kept";
  EXPECT_EQ(lapic_register(lapic, x86::kLapicLvtLint1), 0x10400u) << "NMI, mask kept";
  for (size_t off = 0; off < KVM_APIC_REG_SIZE; off += 16) {
    if (off == x86::kLapicLvtLint0 || off == x86::kLapicLvtLint1) continue;
    EXPECT_EQ(lapic_register(lapic, off), lapic_register(before, off)) << "offset " << off;
  }
}

}  // namespace
}  // namespace kvrun::vmm
