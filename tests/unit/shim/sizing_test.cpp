#include "shim/sandbox/sizing.h"

#include <gtest/gtest.h>

namespace kvrun::sandbox {
namespace {

TEST(SizingTest, DefaultsWithoutResources) {
  VmSize size = size_vm({}, 8);
  EXPECT_EQ(size.vcpus, 1u);
  EXPECT_EQ(size.memory_mib, kDefaultMemoryMib);
}

TEST(SizingTest, CpuQuotaRoundsUp) {
  oci::Resources r;
  r.cpu_quota = 150000;
  r.cpu_period = 100000;
  EXPECT_EQ(size_vm(r, 8).vcpus, 2u);
  r.cpu_quota = 100000;
  EXPECT_EQ(size_vm(r, 8).vcpus, 1u);
  r.cpu_quota = -1;  // unlimited
  EXPECT_EQ(size_vm(r, 8).vcpus, 1u);
}

TEST(SizingTest, CpusetWhenNoQuotaAndCappedByHost) {
  oci::Resources r;
  r.cpuset_cpus = "0-5";
  EXPECT_EQ(size_vm(r, 8).vcpus, 6u);
  EXPECT_EQ(size_vm(r, 2).vcpus, 2u);
  r.cpu_quota = 800000;
  r.cpu_period = 100000;
  EXPECT_EQ(size_vm(r, 64).vcpus, 8u);
  r.cpu_quota = 100000000;
  EXPECT_EQ(size_vm(r, 64).vcpus, kMaxVcpus);
}

TEST(SizingTest, MemoryIsLimitPlusOverheadWithAMinimum) {
  oci::Resources r;
  r.memory_limit = 512LL << 20;
  EXPECT_EQ(size_vm(r, 1).memory_mib, 512 + kGuestOverheadMib);
  r.memory_limit = (512LL << 20) + 1;  // rounded up to whole MiB
  EXPECT_EQ(size_vm(r, 1).memory_mib, 513 + kGuestOverheadMib);
  r.memory_limit = 4 << 20;
  EXPECT_EQ(size_vm(r, 1).memory_mib, kMinMemoryMib);
  r.memory_limit = -1;
  EXPECT_EQ(size_vm(r, 1).memory_mib, kDefaultMemoryMib);
}

}  // namespace
}  // namespace kvrun::sandbox
