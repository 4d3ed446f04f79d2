// The flexible-array KVM structs under C++: layout and ioctl numbers must be the C ABI's.
#include "vmm/kvm/kvm_abi.h"

#include <gtest/gtest.h>

namespace kvrun::vmm {
namespace {

TEST(KvmAbi, IoctlNumbersMatchTheCHeaders) {
  // Values computed by a C compiler from <linux/kvm.h> on x86-64.
  EXPECT_EQ(kvm_abi::kGetSupportedCpuid, 0xc008ae05ul);
  EXPECT_EQ(kvm_abi::kSetCpuid2, 0x4008ae90ul);
  EXPECT_EQ(kvm_abi::kGetMsrs, 0xc008ae88ul);
  EXPECT_EQ(kvm_abi::kSetMsrs, 0x4008ae89ul);
}

TEST(KvmAbi, FlexBufferPlacesEntriesRightAfterTheHeader) {
  kvm_abi::FlexBuffer<kvm_abi::Cpuid2Header, kvm_cpuid_entry2> cpuid(3);
  auto* base = static_cast<std::byte*>(cpuid.data());
  EXPECT_EQ(reinterpret_cast<std::byte*>(&cpuid.header()), base);
  EXPECT_EQ(reinterpret_cast<std::byte*>(cpuid.entries().data()), base + 8);
  EXPECT_EQ(cpuid.entries().size(), 3u);
  cpuid.entries()[2].edx = 0xdeadbeef;  // last entry is inside the buffer (ASan would tell)
  EXPECT_EQ(cpuid.entries()[0].function, 0u) << "zero-initialised";

  kvm_abi::FlexBuffer<kvm_abi::MsrsHeader, kvm_msr_entry> msrs(1);
  EXPECT_EQ(reinterpret_cast<std::byte*>(msrs.entries().data()),
            static_cast<std::byte*>(msrs.data()) + 8);
}

}  // namespace
}  // namespace kvrun::vmm
