// The CPUID table each vCPU sees, derived from KVM_GET_SUPPORTED_CPUID. A pure function over
// the entries so the policy (topology, what we hide and why) is unit-tested without KVM.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <span>
#include <vector>

#include "vmm/kvm/host_kind.h"

namespace kvrun::vmm {

namespace cpuid_bits {
// Leaf 1
inline constexpr uint32_t kEcxPdcm = 1u << 15;
inline constexpr uint32_t kEcxCx16 = 1u << 13;
inline constexpr uint32_t kEcxPopcnt = 1u << 23;
inline constexpr uint32_t kEcxTscDeadline = 1u << 24;
inline constexpr uint32_t kEcxXsave = 1u << 26;
inline constexpr uint32_t kEcxOsxsave = 1u << 27;
inline constexpr uint32_t kEcxHypervisor = 1u << 31;
inline constexpr uint32_t kEdxHtt = 1u << 28;
// Leaf 6
inline constexpr uint32_t kEaxArat = 1u << 2;
// Leaf 7, subleaf 0
inline constexpr uint32_t kEbxSmep = 1u << 7;
inline constexpr uint32_t kEbxSmap = 1u << 20;
inline constexpr uint32_t kEdxArchCapabilities = 1u << 29;
}  // namespace cpuid_bits

inline constexpr uint32_t kCpuidHypervisorBase = 0x40000000;

struct CpuidTarget {
  uint32_t vcpu_id;     // becomes the (x2)APIC id
  uint32_t vcpu_count;  // all vCPUs are cores of one socket, one thread each
  HostKind host;
  // KVM_CAP_TSC_DEADLINE_TIMER: the in-kernel LAPIC runs its timer off the TSC deadline MSR.
  bool tsc_deadline_timer = false;
};

// Returns the table for one vCPU:
// - APIC id in leaf 1 EBX[31:24] and the x2APIC id in every leaf 0xb/0x1f subleaf;
// - topology: leaf 1 logical count and HTT, leaf 4 core/sharing counts, leaf 0xb/0x1f levels,
//   AMD leaf 0x80000008 core count;
// - the hypervisor bit set and KVM's signature leaf kept (added if KVM did not list it);
// - thermal/power leaf 6 reduced to ARAT and the PMU (leaf 0xa, PDCM) hidden: not emulated;
// - the TSC deadline timer announced when KVM emulates it (KVM never lists it itself). With it,
//   ARAT and kvmclock's TSC frequency, Linux never starts the PIT: no timer calibration against
//   it and no PIT ticks for KVM to inject (docs/nested-kvm.md: the PIT worker spinning);
// - on HostKind::kPvm also CX16, POPCNT, XSAVE/OSXSAVE with leaf 0xd, SMEP, SMAP and
//   ARCH_CAPABILITIES hidden, which KVM's emulator cannot run for a non-PVM guest kernel.
std::vector<kvm_cpuid_entry2> normalize_cpuid(std::span<const kvm_cpuid_entry2> supported,
                                              const CpuidTarget& target);

// The entry for (function, index), or nullptr. Index is ignored for leaves where KVM does not
// mark it significant.
const kvm_cpuid_entry2* find_cpuid(std::span<const kvm_cpuid_entry2> entries, uint32_t function,
                                   uint32_t index = 0);

}  // namespace kvrun::vmm
