#include "shim/host_cgroup/hierarchy.h"

#include <gtest/gtest.h>

namespace kvrun::host_cgroup {
namespace {

// This build machine's layout: v1 controllers, name=systemd and an unified hierarchy beside them.
constexpr const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
    "42 23 0:39 / /proc rw - proc proc rw\n";
constexpr const char* kHybridCgroup =
    "9:name=systemd:/\n"
    "8:pids:/\n"
    "4:memory:/process_api/a3a7\n"
    "3:cpuset:/\n"
    "2:cpu,cpuacct:/user.slice\n"
    "0::/\n";

TEST(Hierarchies, HybridHostHasEveryV1HierarchyAndTheUnifiedOne) {
  auto found = parse_hierarchies(kHybridMountinfo, kHybridCgroup);
  ASSERT_EQ(found.size(), 6u);
  EXPECT_EQ(found[0].name(), "name=systemd");
  EXPECT_EQ(found[0].mount, "/sys/fs/cgroup/systemd");
  EXPECT_EQ(found[2].name(), "memory");
  EXPECT_EQ(found[2].own, "process_api/a3a7");
  EXPECT_EQ(found[4].name(), "cpu,cpuacct");
  EXPECT_TRUE(found[4].has("cpuacct"));
  EXPECT_EQ(found[4].own, "user.slice");
  EXPECT_TRUE(found[5].unified);
  EXPECT_EQ(found[5].mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(found[5].own, "");
}

TEST(Hierarchies, UnifiedOnly) {
  auto found = parse_hierarchies(
      "25 21 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 "
      "rw,nsdelegate,memory_recursiveprot\n",
      "0::/user.slice/user-0.slice/session-3.scope\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(found[0].unified);
  EXPECT_EQ(found[0].own, "user.slice/user-0.slice/session-3.scope");
}

TEST(Hierarchies, NoneMountedIsEmpty) {
  EXPECT_TRUE(parse_hierarchies("42 23 0:39 / /proc rw - proc proc rw\n", kHybridCgroup).empty());
}

TEST(Hierarchies, MountRootIsStrippedAndOutsideCgroupsAreLeftOut) {
  // A container's view: the hierarchy's /docker/abc mounted on /sys/fs/cgroup/memory.
  std::string mountinfo =
      "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
      "39 31 0:36 /docker/abc /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
  auto found = parse_hierarchies(mountinfo, "8:pids:/elsewhere\n4:memory:/docker/abc/inner\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name(), "memory");
  EXPECT_EQ(found[0].own, "inner");
  // "/docker/abcd" is not inside "/docker/abc".
  EXPECT_TRUE(parse_hierarchies(mountinfo, "4:memory:/docker/abcd\n").empty());
}

TEST(Hierarchies, EscapedMountPoints) {
  auto found =
      parse_hierarchies("35 31 0:32 / /sys/fs/my\\040cgroup rw - cgroup2 cgroup2 rw\n", "0::/\n");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].mount, "/sys/fs/my cgroup");
}

TEST(Hierarchies, DirectoryFollowsRuncsRules) {
  auto found = parse_hierarchies(kHybridMountinfo, kHybridCgroup);
  const Hierarchy& memory = found[2];
  const Hierarchy& unified = found[5];
  EXPECT_EQ(directory_for(memory, {true, "k8s.io/c1"}), "/sys/fs/cgroup/memory/k8s.io/c1");
  EXPECT_EQ(directory_for(memory, {false, "kvrun-0/c1"}),
            "/sys/fs/cgroup/memory/process_api/a3a7/kvrun-0/c1");
  EXPECT_EQ(directory_for(unified, {false, "kvrun-0/c1"}), "/sys/fs/cgroup/unified/kvrun-0/c1");
  // v2, relative: from the parent of kvrun's cgroup, which has no processes of its own.
  Hierarchy v2{true, {}, "/sys/fs/cgroup", "user.slice/session-3.scope"};
  EXPECT_EQ(directory_for(v2, {false, "x/c1"}), "/sys/fs/cgroup/user.slice/x/c1");
  EXPECT_EQ(directory_for(v2, {true, "machine.slice/libpod-c1.scope"}),
            "/sys/fs/cgroup/machine.slice/libpod-c1.scope");
}

}  // namespace
}  // namespace kvrun::host_cgroup
