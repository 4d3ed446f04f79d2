#include "vmm/kvm/cpuid.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace kvrun::vmm {

namespace {

using namespace cpuid_bits;

// Bits needed to number `count` things: the x2APIC id shift for a topology level.
uint32_t id_bits(uint32_t count) {
  return count <= 1 ? 0 : static_cast<uint32_t>(std::bit_width(count - 1));
}

void set_field(uint32_t& reg, unsigned shift, unsigned width, uint32_t value) {
  const uint32_t mask = ((width >= 32) ? ~0u : ((1u << width) - 1)) << shift;
  reg = (reg & ~mask) | ((value << shift) & mask);
}

void zero_registers(kvm_cpuid_entry2& e) { e.eax = e.ebx = e.ecx = e.edx = 0; }

// Leaf 0xb and 0x1f describe the same topology: an SMT level of one thread, then a core
// level holding every vCPU. Subleaves past those are the terminating "invalid" level.
void set_extended_topology(kvm_cpuid_entry2& e, const CpuidTarget& t) {
  e.edx = t.vcpu_id;
  switch (e.index) {
    case 0:
      e.eax = 0;
      e.ebx = 1;
      e.ecx = (1u << 8) | 0;  // type SMT, level 0
      break;
    case 1:
      e.eax = id_bits(t.vcpu_count);
      e.ebx = t.vcpu_count;
      e.ecx = (2u << 8) | 1;  // type core, level 1
      break;
    default:
      e.eax = e.ebx = 0;
      e.ecx = e.index & 0xff;  // type 0: no such level
      break;
  }
}

void normalize_entry(kvm_cpuid_entry2& e, const CpuidTarget& t) {
  const uint32_t count = std::max<uint32_t>(t.vcpu_count, 1);
  switch (e.function) {
    case 1:
      set_field(e.ebx, 24, 8, t.vcpu_id);
      set_field(e.ebx, 16, 8, std::min<uint32_t>(count, 255));
      if (count > 1) {
        e.edx |= kEdxHtt;
      } else {
        e.edx &= ~kEdxHtt;
      }
      e.ecx |= kEcxHypervisor;
      e.ecx &= ~kEcxPdcm;
      if (t.tsc_deadline_timer) e.ecx |= kEcxTscDeadline;
      break;
    case 4: {
      if ((e.eax & 0x1f) == 0) break;  // no cache at this subleaf
      const uint32_t level = (e.eax >> 5) & 0x7;
      set_field(e.eax, 26, 6, std::min<uint32_t>(count, 64) - 1);
      // L1 and L2 belong to one core (one thread); L3 is shared by the whole socket.
      set_field(e.eax, 14, 12, level >= 3 ? std::min<uint32_t>(count, 4096) - 1 : 0);
      break;
    }
    case 6:
      e.eax &= kEaxArat;  // the LAPIC timer keeps running in deep C-states; nothing else
      e.ebx = e.ecx = e.edx = 0;
      break;
    case 0xa:
      zero_registers(e);
      break;
    case 0xb:
    case 0x1f:
      set_extended_topology(e, t);
      break;
    case 0x80000008:
      set_field(e.ecx, 0, 8, std::min<uint32_t>(count, 256) - 1);
      set_field(e.ecx, 12, 4, 0);  // legacy core-id sizing derived from the count above
      break;
    default:
      break;
  }
  if (t.host != HostKind::kPvm) return;
  switch (e.function) {
    case 1:
      e.ecx &= ~(kEcxCx16 | kEcxPopcnt | kEcxXsave | kEcxOsxsave);
      break;
    case 7:
      if (e.index == 0) {
        e.ebx &= ~(kEbxSmep | kEbxSmap);
        e.edx &= ~kEdxArchCapabilities;
      }
      break;
    case 0xd:
      zero_registers(e);
      break;
    default:
      break;
  }
}

}  // namespace

std::vector<kvm_cpuid_entry2> normalize_cpuid(std::span<const kvm_cpuid_entry2> supported,
                                              const CpuidTarget& target) {
  std::vector<kvm_cpuid_entry2> entries(supported.begin(), supported.end());
  for (auto& e : entries) normalize_entry(e, target);

  if (find_cpuid(entries, kCpuidHypervisorBase) == nullptr) {
    // Linux looks here for KVM's paravirtual clock; without it the guest's time source
    // falls back to slower emulated hardware.
    kvm_cpuid_entry2 sig{};
    sig.function = kCpuidHypervisorBase;
    sig.eax = kCpuidHypervisorBase;  // no further hypervisor leaves
    std::memcpy(&sig.ebx, "KVMK", 4);
    std::memcpy(&sig.ecx, "VMKV", 4);
    std::memcpy(&sig.edx, "M\0\0\0", 4);
    entries.push_back(sig);
  }
  return entries;
}

const kvm_cpuid_entry2* find_cpuid(std::span<const kvm_cpuid_entry2> entries, uint32_t function,
                                   uint32_t index) {
  for (const auto& e : entries) {
    if (e.function != function) continue;
    if ((e.flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e.index != index) continue;
    return &e;
  }
  return nullptr;
}

}  // namespace kvrun::vmm
