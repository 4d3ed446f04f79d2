#include "agent/container/cgroups.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "agent_harness.h"
#include "common/error.h"

namespace kvrun::agent {
namespace {

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A directory that looks like a cgroup2 root offering `controllers`.
void fake_root(const std::filesystem::path& root, const std::string& controllers) {
  std::ofstream(root / "cgroup.controllers") << controllers << "\n";
}

TEST(Cgroups, SettingsTranslateOciResources) {
  spec::ResourcesSpec r;
  r.memory_limit = 100 << 20;
  r.memory_swap = 150 << 20;
  r.pids_limit = 64;
  r.cpu_shares = 1024;
  r.cpu_quota = 50000;
  r.cpu_period = 100000;
  auto settings = cgroup_settings(r);
  std::map<std::string, std::string> m(settings.begin(), settings.end());
  EXPECT_EQ(m["memory.max"], "104857600");
  EXPECT_EQ(m["memory.swap.max"], "52428800");
  EXPECT_EQ(m["pids.max"], "64");
  EXPECT_EQ(m["cpu.weight"], "39");
  EXPECT_EQ(m["cpu.max"], "50000 100000");
  r = {};
  r.memory_limit = -1;
  r.pids_limit = 0;
  r.cpu_quota = -1;
  settings = cgroup_settings(r);
  m = {settings.begin(), settings.end()};
  EXPECT_EQ(m["memory.max"], "max");
  EXPECT_EQ(m["pids.max"], "max");
  EXPECT_EQ(m["cpu.max"], "max 100000");
}

TEST(Cgroups, CreateEnablesControllersAndWritesLimits) {
  test::TempDir dir;
  fake_root(dir.path(), "cpuset cpu io memory pids");
  spec::ResourcesSpec r;
  r.memory_limit = 1 << 20;
  r.pids_limit = 10;
  auto cgroup = Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c1", r);
  ASSERT_TRUE(cgroup);
  EXPECT_EQ(cgroup->path(), dir.path() / "kvrun/c1");
  EXPECT_EQ(read(dir.path() / "cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(read(dir.path() / "kvrun/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(read(dir.path() / "kvrun/c1/memory.max"), "1048576");
  EXPECT_EQ(read(dir.path() / "kvrun/c1/pids.max"), "10");
  cgroup->add_process(1234);
  EXPECT_EQ(read(dir.path() / "kvrun/c1/cgroup.procs"), "1234");
}

// An update writes what it names and leaves the rest; a controller the container was created
// without is enabled first; nothing is written when a value is refused.
TEST(Cgroups, UpdateWritesNewLimitsOnly) {
  test::TempDir dir;
  fake_root(dir.path(), "cpuset cpu io memory pids");
  spec::ResourcesSpec created;
  created.memory_limit = 1 << 20;
  created.pids_limit = 10;
  auto cgroup = Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c1", created);
  ASSERT_TRUE(cgroup);
  spec::ResourcesSpec update;
  update.memory_limit = 2 << 20;
  update.cpuset_cpus = "0";
  cgroup->update(update);
  EXPECT_EQ(read(dir.path() / "kvrun/c1/memory.max"), "2097152");
  EXPECT_EQ(read(dir.path() / "kvrun/c1/pids.max"), "10");
  EXPECT_EQ(read(dir.path() / "kvrun/c1/cpuset.cpus"), "0");
  EXPECT_EQ(read(dir.path() / "kvrun/cgroup.subtree_control"), "+cpuset +memory");

  spec::ResourcesSpec refused;
  refused.pids_limit = 20;
  refused.memory_swap = 1;  // smaller than the limit: invalid
  refused.memory_limit = 3 << 20;
  EXPECT_THROW(cgroup->update(refused), Error);
  EXPECT_EQ(read(dir.path() / "kvrun/c1/pids.max"), "10");
  EXPECT_EQ(read(dir.path() / "kvrun/c1/memory.max"), "2097152");

  fake_root(dir.path(), "cpu memory pids");
  spec::ResourcesSpec weight;
  weight.blkio_weight = 100;
  try {
    cgroup->update(weight);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cgroup2 root " + dir.path().string() + " lacks controller(s) io");
  }
}

TEST(Cgroups, BlockIoWeightBecomesIoWeight) {
  spec::ResourcesSpec r;
  for (auto [oci, v2] : {std::pair{10, "default 1"}, std::pair{500, "default 4950"},
                         std::pair{1000, "default 10000"}}) {
    r.blkio_weight = oci;
    auto settings = cgroup_settings(r);
    ASSERT_EQ(settings.size(), 1u);
    EXPECT_EQ(settings[0].first, "io.weight");
    EXPECT_EQ(settings[0].second, v2) << oci;
  }
  EXPECT_EQ(required_controllers(r), std::vector<std::string>{"io"});
}

// A kernel with io.weight (blk-iocost) gets the weight; one without it a clear error, and no
// cgroup is left behind.
TEST(Cgroups, IoWeightAndSwapNeedTheirKernelFiles) {
  test::TempDir dir;
  fake_root(dir.path(), "cpuset cpu io memory pids");
  spec::ResourcesSpec r;
  r.blkio_weight = 500;
  try {
    Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c1", r);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "linux.resources.blockIO.weight: this kernel has no io.weight (it needs "
                 "CONFIG_BLK_CGROUP_IOCOST)");
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "kvrun/c1"));
  EXPECT_EQ(read(dir.path() / "kvrun/cgroup.subtree_control"), "+cpu +memory +pids +io");

  // Without swap, "no swap" (swap == limit) is what the kernel does anyway; more is an error.
  r = {};
  r.memory_limit = 1 << 20;
  r.memory_swap = 1 << 20;
  auto no_swap = Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c2", r);
  ASSERT_TRUE(no_swap);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "kvrun/c2/memory.swap.max"));
  r.memory_swap = 2 << 20;
  EXPECT_THROW(Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c3", r), Error);
}

TEST(Cgroups, MissingControllersAreAnErrorWhenRequired) {
  test::TempDir dir;
  fake_root(dir.path(), "hugetlb");
  try {
    Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c1", {});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cgroup2 root " + dir.path().string() + " lacks controller(s) cpu memory pids");
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "kvrun"));
}

TEST(Cgroups, MissingControllersGiveACgroupWithoutLimitsInBestEffortMode) {
  test::TempDir dir;
  fake_root(dir.path(), "");
  spec::ResourcesSpec r;
  r.pids_limit = 10;
  auto cgroup = Cgroup::create({dir.path(), CgroupMode::kBestEffort, false}, "c1", r);
  ASSERT_TRUE(cgroup);
  EXPECT_EQ(cgroup->path(), dir.path() / "kvrun/c1");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "cgroup.subtree_control"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "kvrun/c1/pids.max"));
}

TEST(Cgroups, NotACgroupRootIsAnErrorOnlyWhenRequired) {
  test::TempDir dir;
  EXPECT_THROW(Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c1", {}), Error);
  EXPECT_EQ(Cgroup::create({dir.path(), CgroupMode::kBestEffort, false}, "c1", {}), std::nullopt);
}

}  // namespace
}  // namespace kvrun::agent
