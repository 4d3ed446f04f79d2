#include "agent/container/cgroups.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

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
  ResourcesSpec r;
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
  ResourcesSpec r;
  r.memory_limit = 1 << 20;
  r.pids_limit = 10;
  auto cgroup = Cgroup::create({dir.path(), CgroupMode::kRequired}, "c1", r);
  ASSERT_TRUE(cgroup);
  EXPECT_EQ(cgroup->path(), dir.path() / "kvrun/c1");
  EXPECT_EQ(read(dir.path() / "cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(read(dir.path() / "kvrun/cgroup.subtree_control"), "+cpu +memory +pids");
  EXPECT_EQ(read(dir.path() / "kvrun/c1/memory.max"), "1048576");
  EXPECT_EQ(read(dir.path() / "kvrun/c1/pids.max"), "10");
  cgroup->add_process(1234);
  EXPECT_EQ(read(dir.path() / "kvrun/c1/cgroup.procs"), "1234");
}

TEST(Cgroups, MissingControllersAreAnErrorWhenRequired) {
  test::TempDir dir;
  fake_root(dir.path(), "hugetlb");
  try {
    Cgroup::create({dir.path(), CgroupMode::kRequired}, "c1", {});
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
  ResourcesSpec r;
  r.pids_limit = 10;
  auto cgroup = Cgroup::create({dir.path(), CgroupMode::kBestEffort}, "c1", r);
  ASSERT_TRUE(cgroup);
  EXPECT_EQ(cgroup->path(), dir.path() / "kvrun/c1");
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "cgroup.subtree_control"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "kvrun/c1/pids.max"));
}

TEST(Cgroups, NotACgroupRootIsAnErrorOnlyWhenRequired) {
  test::TempDir dir;
  EXPECT_THROW(Cgroup::create({dir.path(), CgroupMode::kRequired}, "c1", {}), Error);
  EXPECT_EQ(Cgroup::create({dir.path(), CgroupMode::kBestEffort}, "c1", {}), std::nullopt);
}

}  // namespace
}  // namespace kvrun::agent
