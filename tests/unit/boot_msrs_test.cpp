// The MSRs every vCPU starts with.
#include <gtest/gtest.h>

#include <map>

#include "vmm/kvm/msrs.h"

namespace kvrun::vmm {
namespace {

TEST(BootMsrs, ListsEachMsrOnceWithItsBootValue) {
  std::map<uint32_t, uint64_t> values;
  for (const MsrValue& m : boot_msrs()) {
    EXPECT_TRUE(values.emplace(m.index, m.value).second) << "duplicate MSR " << m.index;
  }
  const std::map<uint32_t, uint64_t> expected = {
      {0x174, 0},      {0x175, 0},      {0x176, 0},      {0xc0000081, 0},
      {0xc0000082, 0}, {0xc0000083, 0}, {0xc0000084, 0}, {0xc0000102, 0},
      {0x10, 0},       {0x1a0, 1},      {0x2ff, 0x806},
  };
  EXPECT_EQ(values, expected);
}

TEST(BootMsrs, MtrrDefaultIsEnabledWriteBack) {
  for (const MsrValue& m : boot_msrs()) {
    if (m.index != msr::kMtrrDefType) continue;
    EXPECT_EQ(m.value & 0xff, msr::kMtrrTypeWriteBack);
    EXPECT_TRUE(m.value & msr::kMtrrEnable);
  }
}

}  // namespace
}  // namespace kvrun::vmm
