// The CPUID table a vCPU sees: its identity, the topology, what is hidden, and the PVM filter.
#include "vmm/kvm/cpuid.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace kvrun::vmm {
namespace {

using namespace cpuid_bits;

kvm_cpuid_entry2 entry(uint32_t function, uint32_t index, uint32_t eax, uint32_t ebx, uint32_t ecx,
                       uint32_t edx, bool indexed = false) {
  kvm_cpuid_entry2 e{};
  e.function = function;
  e.index = index;
  e.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
  e.eax = eax;
  e.ebx = ebx;
  e.ecx = ecx;
  e.edx = edx;
  return e;
}

// Shaped like KVM_GET_SUPPORTED_CPUID on a recent Intel host, with every feature bit set so
// that any bit we clear shows.
std::vector<kvm_cpuid_entry2> supported() {
  std::vector<kvm_cpuid_entry2> t;
  t.push_back(entry(0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69));
  t.push_back(entry(1, 0, 0x000906ea, 0x00000800, 0x7ffaffff, 0xffffffff & ~kEdxHtt));
  // Leaf 4: L1d, L1i, L2, L3 with host topology (16 cores, L3 shared by 32 threads).
  t.push_back(entry(4, 0, 0x3c004121, 0x01c0003f, 0x3f, 0, true));
  t.push_back(entry(4, 1, 0x3c004122, 0x01c0003f, 0x3f, 0, true));
  t.push_back(entry(4, 2, 0x3c004143, 0x00c0003f, 0x3ff, 0, true));
  t.push_back(entry(4, 3, 0x3c07c163, 0x03c0003f, 0x3fff, 0x6, true));
  t.push_back(entry(4, 4, 0, 0, 0, 0, true));
  t.push_back(entry(6, 0, 0x77, 0x2, 0x9, 0));
  t.push_back(entry(7, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, true));
  t.push_back(entry(7, 1, 0, 0xffffffff, 0, 0, true));
  t.push_back(entry(0xa, 0, 0x07300404, 0, 0, 0x603));
  t.push_back(entry(0xb, 0, 1, 2, 0x100, 7, true));
  t.push_back(entry(0xb, 1, 4, 16, 0x201, 7, true));
  t.push_back(entry(0xb, 2, 0, 0, 2, 7, true));
  t.push_back(entry(0xd, 0, 0x7, 0x340, 0x340, 0, true));
  t.push_back(entry(0xd, 1, 0xf, 0, 0, 0, true));
  t.push_back(entry(0x40000000, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d, false));
  t.push_back(entry(0x40000001, 0, 0x01007afb, 0, 0, 0));
  t.push_back(entry(0x80000000, 0, 0x80000008, 0, 0, 0));
  t.push_back(entry(0x80000001, 0, 0, 0, 0x121, 0x2c100800));
  t.push_back(entry(0x80000008, 0, 0x3027, 0, 0x0000600f, 0));
  return t;
}

const kvm_cpuid_entry2& get(const std::vector<kvm_cpuid_entry2>& t, uint32_t f, uint32_t i = 0) {
  const kvm_cpuid_entry2* e = find_cpuid(t, f, i);
  if (e == nullptr) throw std::runtime_error("missing leaf");
  return *e;
}

std::vector<kvm_cpuid_entry2> normalized(uint32_t id, uint32_t count,
                                         HostKind host = HostKind::kHardware) {
  return normalize_cpuid(supported(), CpuidTarget{id, count, host});
}

TEST(Cpuid, ApicIdPerVcpuInLeaf1AndX2apicIdInLeafB) {
  for (uint32_t id : {0u, 1u, 5u, 31u}) {
    const auto t = normalized(id, 32);
    EXPECT_EQ(get(t, 1).ebx >> 24, id);
    EXPECT_EQ(get(t, 1).ebx & 0xffff, 0x0800u) << "CLFLUSH size and brand kept";
    for (uint32_t sub : {0u, 1u, 2u}) EXPECT_EQ(get(t, 0xb, sub).edx, id);
  }
}

TEST(Cpuid, LogicalProcessorCountAndHtt) {
  const auto one = normalized(0, 1);
  EXPECT_EQ((get(one, 1).ebx >> 16) & 0xff, 1u);
  EXPECT_FALSE(get(one, 1).edx & kEdxHtt);
  const auto four = normalized(2, 4);
  EXPECT_EQ((get(four, 1).ebx >> 16) & 0xff, 4u);
  EXPECT_TRUE(get(four, 1).edx & kEdxHtt);
}

TEST(Cpuid, HypervisorBitSet) {
  auto t = supported();
  t[1].ecx &= ~kEcxHypervisor;
  const auto out = normalize_cpuid(t, CpuidTarget{0, 1, HostKind::kHardware});
  EXPECT_TRUE(get(out, 1).ecx & kEcxHypervisor);
}

TEST(Cpuid, TscDeadlineTimerOnlyWhereKvmEmulatesIt) {
  auto t = supported();
  t[1].ecx &= ~kEcxTscDeadline;
  EXPECT_FALSE(get(normalize_cpuid(t, CpuidTarget{0, 1, HostKind::kHardware}), 1).ecx &
               kEcxTscDeadline);
  EXPECT_TRUE(get(normalize_cpuid(t, CpuidTarget{0, 1, HostKind::kHardware, true}), 1).ecx &
              kEcxTscDeadline);
}

TEST(Cpuid, ExtendedTopologyOneThreadPerCoreAllCoresInOneSocket) {
  struct Case {
    uint32_t count, shift;
  };
  for (Case c : {Case{1, 0}, Case{2, 1}, Case{3, 2}, Case{4, 2}, Case{5, 3}, Case{32, 5}}) {
    const auto t = normalized(0, c.count);
    const auto& smt = get(t, 0xb, 0);
    EXPECT_EQ(smt.eax, 0u);
    EXPECT_EQ(smt.ebx, 1u);
    EXPECT_EQ(smt.ecx, (1u << 8) | 0u);
    const auto& core = get(t, 0xb, 1);
    EXPECT_EQ(core.eax, c.shift) << "count " << c.count;
    EXPECT_EQ(core.ebx, c.count);
    EXPECT_EQ(core.ecx, (2u << 8) | 1u);
    const auto& end = get(t, 0xb, 2);
    EXPECT_EQ(end.ebx, 0u);
    EXPECT_EQ((end.ecx >> 8) & 0xff, 0u) << "invalid level terminates the list";
    EXPECT_EQ(end.ecx & 0xff, 2u);
  }
}

TEST(Cpuid, CacheLeafMatchesTopology) {
  const auto t = normalized(0, 4);
  for (uint32_t sub : {0u, 1u, 2u}) {
    EXPECT_EQ(get(t, 4, sub).eax >> 26, 3u) << "cores per package - 1";
    EXPECT_EQ((get(t, 4, sub).eax >> 14) & 0xfff, 0u) << "L1/L2 private to a core";
    EXPECT_EQ(get(t, 4, sub).eax & 0x3fff, supported()[2 + sub].eax & 0x3fff)
        << "cache type and level kept";
  }
  EXPECT_EQ(get(t, 4, 3).eax >> 26, 3u);
  EXPECT_EQ((get(t, 4, 3).eax >> 14) & 0xfff, 3u) << "L3 shared by all vCPUs";
  EXPECT_EQ(get(t, 4, 4).eax, 0u) << "terminating subleaf untouched";
}

TEST(Cpuid, ThermalLeafKeepsOnlyAratAndPmuIsHidden) {
  const auto t = normalized(0, 1);
  EXPECT_EQ(get(t, 6).eax, kEaxArat);
  EXPECT_EQ(get(t, 6).ebx, 0u);
  EXPECT_EQ(get(t, 6).ecx, 0u);
  const auto& pmu = get(t, 0xa);
  EXPECT_EQ(pmu.eax | pmu.ebx | pmu.ecx | pmu.edx, 0u);
  EXPECT_FALSE(get(t, 1).ecx & kEcxPdcm);
}

TEST(Cpuid, AmdCoreCount) {
  const auto t = normalized(0, 6);
  EXPECT_EQ(get(t, 0x80000008).ecx & 0xff, 5u);
  EXPECT_EQ((get(t, 0x80000008).ecx >> 12) & 0xf, 0u);
  EXPECT_EQ(get(t, 0x80000008).eax, 0x3027u) << "address sizes kept";
}

TEST(Cpuid, KvmSignatureKeptOrAdded) {
  const auto kept = normalized(0, 1);
  EXPECT_EQ(get(kept, 0x40000000).eax, 0x40000001u);
  EXPECT_EQ(kept.size(), supported().size());

  auto t = supported();
  std::erase_if(t, [](const kvm_cpuid_entry2& e) {
    return e.function >= 0x40000000 && e.function < 0x40000100;
  });
  const auto added = normalize_cpuid(t, CpuidTarget{0, 1, HostKind::kHardware});
  const auto& sig = get(added, 0x40000000);
  char text[13] = {};
  std::memcpy(text, &sig.ebx, 4);
  std::memcpy(text + 4, &sig.ecx, 4);
  std::memcpy(text + 8, &sig.edx, 4);
  EXPECT_STREQ(text, "KVMKVMKVM");
}

TEST(Cpuid, HardwareHostKeepsTheFeaturesPvmHides) {
  const auto t = normalized(0, 1, HostKind::kHardware);
  const uint32_t leaf1 = kEcxCx16 | kEcxPopcnt | kEcxXsave;
  EXPECT_EQ(get(t, 1).ecx & leaf1, leaf1);
  EXPECT_EQ(get(t, 7, 0).ebx & (kEbxSmep | kEbxSmap), kEbxSmep | kEbxSmap);
  EXPECT_TRUE(get(t, 7, 0).edx & kEdxArchCapabilities);
  EXPECT_EQ(get(t, 0xd, 0).eax, 0x7u);
}

TEST(Cpuid, PvmFilterClearsExactlyThoseBits) {
  const auto hw = normalized(3, 4, HostKind::kHardware);
  const auto pvm = normalized(3, 4, HostKind::kPvm);
  ASSERT_EQ(hw.size(), pvm.size());
  for (size_t i = 0; i < hw.size(); ++i) {
    const auto& a = hw[i];
    const auto& b = pvm[i];
    SCOPED_TRACE(::testing::Message() << "leaf " << std::hex << a.function << " sub " << a.index);
    ASSERT_EQ(a.function, b.function);
    ASSERT_EQ(a.index, b.index);
    uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;  // bits PVM must clear
    if (a.function == 1) ecx = kEcxCx16 | kEcxPopcnt | kEcxXsave | kEcxOsxsave;
    if (a.function == 7 && a.index == 0) {
      ebx = kEbxSmep | kEbxSmap;
      edx = kEdxArchCapabilities;
    }
    if (a.function == 0xd) eax = ebx = ecx = edx = ~0u;
    EXPECT_EQ(b.eax, a.eax & ~eax);
    EXPECT_EQ(b.ebx, a.ebx & ~ebx);
    EXPECT_EQ(b.ecx, a.ecx & ~ecx);
    EXPECT_EQ(b.edx, a.edx & ~edx);
  }
  EXPECT_EQ(get(pvm, 7, 1).ebx, get(hw, 7, 1).ebx) << "only subleaf 0 of leaf 7 is filtered";
}

TEST(Cpuid, FindRespectsSignificantIndex) {
  const auto t = supported();
  EXPECT_EQ(find_cpuid(t, 4, 3)->eax, 0x3c07c163u);
  EXPECT_EQ(find_cpuid(t, 4, 9), nullptr);
  EXPECT_EQ(find_cpuid(t, 1, 9)->function, 1u) << "leaf 1 ignores the index";
  EXPECT_EQ(find_cpuid(t, 0x12345), nullptr);
}

}  // namespace
}  // namespace kvrun::vmm
