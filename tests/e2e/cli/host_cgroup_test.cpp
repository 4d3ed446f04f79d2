// The container's host cgroup (shim/host_cgroup/), end to end with host sandboxes on this
// machine's own hierarchies (label root; hostile cases also hostile): the monitor and the agent
// it starts are in the container's cgroup on every mounted hierarchy, the limits are set, and
// `kvrun delete` removes what kvrun made — and only that.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "cli_fixture.h"

namespace kvrun::e2e {
namespace {

// "<hierarchy id>" -> (controllers, path) from a /proc/<pid>/cgroup.
using CgroupLines = std::map<std::string, std::pair<std::string, std::string>>;

CgroupLines cgroups_of(const std::string& pid) {
  CgroupLines lines;
  std::ifstream in("/proc/" + pid + "/cgroup");
  for (std::string line; std::getline(in, line);) {
    auto first = line.find(':'), second = line.find(':', first + 1);
    lines[line.substr(0, first)] = {line.substr(first + 1, second - first - 1),
                                    line.substr(second + 1)};
  }
  return lines;
}

// Mount point of each hierarchy ("memory", "pids", "name=systemd", "" for cgroup2).
std::map<std::string, std::string> cgroup_mounts() {
  std::map<std::string, std::string> mounts;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string word; fields >> word;) f.push_back(word);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (dash == f.end() || f.end() - dash < 4) continue;
    if (*(dash + 1) == "cgroup2") mounts[""] = f[4];
    if (*(dash + 1) != "cgroup") continue;
    std::istringstream options(*(dash + 3));
    std::string controllers;
    for (std::string o; std::getline(options, o, ',');)
      if (o != "rw" && o != "ro" && o != "xattr" && o.rfind("release_agent", 0) != 0)
        controllers += (controllers.empty() ? "" : ",") + o;
    mounts[controllers] = f[4];
  }
  return mounts;
}

std::string parent_of(const std::string& path) {
  auto at = path.rfind('/');
  return at == 0 ? "/" : path.substr(0, at);
}

std::string join(const std::string& a, const std::string& b) {
  return a == "/" ? "/" + b : a + "/" + b;
}

std::string read_value(const std::string& path) {
  std::ifstream in(path);
  std::string value;
  std::getline(in, value);
  return value;
}

std::vector<std::string> children_of(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<std::string> pids;
  for (std::string child; in >> child;) pids.push_back(child);
  return pids;
}

class HostCgroupTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    mounts_ = cgroup_mounts();
    if (mounts_.empty()) GTEST_SKIP() << "no cgroup filesystem mounted";
    self_ = cgroups_of("self");
    // Relative to the test's own cgroups, so the test stays inside whatever runs it.
    name_ = "kvrun-e2e-" + std::to_string(::getpid());
  }
  void TearDown() override {
    CliTest::TearDown();  // kills what is left first
    // A failed test must not leave directories behind on the host's hierarchies.
    for (const auto& dir : expected_dirs("c1")) ::rmdir(dir.c_str());
    for (const auto& dir : expected_dirs("")) ::rmdir(dir.c_str());
  }

  // Where cgroupsPath "<name_>/<leaf>" lands in each hierarchy: under the caller's cgroup (v1)
  // or its parent (v2), as runc places relative paths.
  std::string expected_cgroup(const std::string& controllers, const std::string& own,
                              const std::string& leaf) const {
    std::string base = controllers.empty() ? parent_of(own) : own;
    return join(base, leaf.empty() ? name_ : name_ + "/" + leaf);
  }
  std::vector<std::string> expected_dirs(const std::string& leaf) const {
    std::vector<std::string> dirs;
    for (const auto& [id, entry] : self_) {
      auto mount = mounts_.find(entry.first);
      if (mount == mounts_.end()) continue;
      dirs.push_back(mount->second + expected_cgroup(entry.first, entry.second, leaf));
    }
    return dirs;
  }
  std::string dir_of(const std::string& controller, const std::string& leaf) const {
    for (const auto& [id, entry] : self_) {
      if (entry.first != controller) continue;
      auto mount = mounts_.find(entry.first);
      if (mount != mounts_.end())
        return mount->second + expected_cgroup(entry.first, entry.second, leaf);
    }
    return "";
  }

  std::map<std::string, std::string> mounts_;
  CgroupLines self_;
  std::string name_;
};

std::string memory_dir_file(bool v2) { return v2 ? "memory.max" : "memory.limit_in_bytes"; }

TEST_F(HostCgroupTest, MonitorAndAgentRunInTheContainersCgroupWithLimitsAndDeleteRemovesIt) {
  auto dir = bundle("b", "sleep 100",
                    {{"linux",
                      {{"cgroupsPath", name_ + "/c1"},
                       {"resources",
                        {{"memory", {{"limit", 100 << 20}}},
                         {"cpu", {{"quota", 50000}, {"period", 100000}}}}}}}});
  auto pid_file = scratch_ / "pid";
  Result created = kvrun({"create", "-b", dir.string(), "--pid-file", pid_file.string(), "c1"});
  ASSERT_EQ(created.status, 0) << created.err;
  pid_t monitor = 0;
  std::ifstream(pid_file) >> monitor;
  ASSERT_GT(monitor, 0);

  std::vector<std::string> members = {std::to_string(monitor)};
  for (const auto& child : children_of(monitor)) members.push_back(child);
  ASSERT_GE(members.size(), 2u) << "the monitor's agent";
  for (const auto& pid : members) {
    auto lines = cgroups_of(pid);
    for (const auto& [id, entry] : self_) {
      if (!mounts_.count(entry.first)) continue;  // not mounted here: nothing to join
      EXPECT_EQ(lines[id].second, expected_cgroup(entry.first, entry.second, "c1"))
          << "pid " << pid << " on hierarchy " << id << " (" << entry.first << ")";
    }
  }

  // The guest's RAM as sizing.h gives it (limit 100 MiB + 64 MiB for the guest) + 64 MiB for
  // the VMM: what a VM sandbox of this spec may take of the host.
  const std::string expected_memory = std::to_string((100 + 64 + 64) << 20);
  bool v1_memory = !dir_of("memory", "c1").empty();
  std::string memory = v1_memory ? dir_of("memory", "c1") : dir_of("", "c1");
  EXPECT_EQ(read_value(memory + "/" + memory_dir_file(!v1_memory)), expected_memory);
  if (v1_memory) {
    EXPECT_EQ(read_value(dir_of("cpu", "c1") + "/cpu.cfs_quota_us"), "50000");
    EXPECT_EQ(read_value(dir_of("pids", "c1") + "/pids.max"), "512");
  } else {
    EXPECT_EQ(read_value(dir_of("", "c1") + "/cpu.max"), "50000 100000");
    EXPECT_EQ(read_value(dir_of("", "c1") + "/pids.max"), "512");
  }

  Result deleted = kvrun({"delete", "--force", "c1"});
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  for (const auto& leaf : {"c1", ""})
    for (const auto& d : expected_dirs(leaf))
      EXPECT_FALSE(std::filesystem::exists(d)) << d << " left after delete";
  expect_nothing_left();
}

TEST_F(HostCgroupTest, WithoutCgroupsPathTheDefaultIsUnderKvrunsOwnCgroupPerStateRoot) {
  auto dir = bundle("b", "sleep 100");
  auto pid_file = scratch_ / "pid";
  Result created = kvrun({"create", "-b", dir.string(), "--pid-file", pid_file.string(), "c1"});
  ASSERT_EQ(created.status, 0) << created.err;
  pid_t monitor = 0;
  std::ifstream(pid_file) >> monitor;
  auto lines = cgroups_of(std::to_string(monitor));
  std::string parent;
  for (const auto& [id, entry] : self_) {
    if (!mounts_.count(entry.first)) continue;
    std::string path = lines[id].second;
    std::string base = entry.first.empty() ? parent_of(entry.second) : entry.second;
    ASSERT_EQ(path.rfind(join(base, "kvrun-"), 0), 0u) << path;
    ASSERT_EQ(path.substr(path.size() - 3), "/c1") << path;
    if (parent.empty()) parent = path.substr(0, path.size() - 3).substr(path.rfind("kvrun-"));
    EXPECT_NE(path.find("/" + parent + "/c1"), std::string::npos) << "one tag for the root";
  }
  Result deleted = kvrun({"delete", "--force", "c1"});
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  for (const auto& [id, entry] : self_) {
    auto mount = mounts_.find(entry.first);
    if (mount == mounts_.end()) continue;
    std::string base = entry.first.empty() ? parent_of(entry.second) : entry.second;
    EXPECT_FALSE(std::filesystem::exists(mount->second + join(base, parent)))
        << "kvrun's default parent left behind";
  }
  expect_nothing_left();
}

TEST_F(HostCgroupTest, DeleteKillsWhatOutlivedTheMonitorInItsCgroup) {
  auto dir = bundle("b", "sleep 100", {{"linux", {{"cgroupsPath", name_ + "/c1"}}}});
  Result created = kvrun({"create", "-b", dir.string(), "c1"});
  ASSERT_EQ(created.status, 0) << created.err;
  // A helper that escaped the monitor's death (as a VMM would without PR_SET_PDEATHSIG).
  pid_t stray = ::fork();
  if (stray == 0) {
    ::execl("/bin/sleep", "sleep", "1000", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string procs = dir_of("pids", "c1").empty() ? dir_of("", "c1") : dir_of("pids", "c1");
  std::ofstream(procs + "/cgroup.procs") << stray;
  bool moved = false;
  for (const auto& [id, entry] : cgroups_of(std::to_string(stray)))
    moved |= entry.second.find(name_ + "/c1") != std::string::npos;
  ASSERT_TRUE(moved);
  Result deleted = kvrun({"delete", "--force", "c1"});
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  EXPECT_EQ(wait_status(stray), 128 + SIGKILL);
  EXPECT_FALSE(std::filesystem::exists(procs));
  expect_nothing_left();
}

using HostCgroupHostileTest = HostCgroupTest;

TEST_F(HostCgroupHostileTest, AnExistingCgroupIsRefusedAndLeftAlone) {
  // Someone else's cgroup (or one kvrun did not make): neither joined, limited nor removed.
  auto theirs = dir_of("pids", "c1").empty() ? dir_of("", "c1") : dir_of("pids", "c1");
  std::filesystem::create_directories(theirs);
  auto dir = bundle("b", "sleep 100", {{"linux", {{"cgroupsPath", name_ + "/c1"}}}});
  Result created = kvrun({"create", "-b", dir.string(), "c1"});
  EXPECT_EQ(created.status, 1);
  EXPECT_NE(created.err.find("already exists"), std::string::npos) << created.err;
  EXPECT_TRUE(std::filesystem::exists(theirs));
  for (const auto& d : expected_dirs("c1")) {
    if (d == theirs) continue;
    EXPECT_FALSE(std::filesystem::exists(d)) << d << " made for a refused create";
  }
  expect_nothing_left();
}

TEST_F(HostCgroupHostileTest, EscapingPathsAreRefusedBeforeAnythingIsMade) {
  for (const std::string& path :
       std::vector<std::string>{"../../" + name_, "/a/../../" + name_, name_ + "/../.."}) {
    auto dir = bundle("b", "true", {{"linux", {{"cgroupsPath", path}}}});
    Result r = kvrun({"run", "-b", dir.string(), "c1"});
    EXPECT_EQ(r.status, 1) << path;
    EXPECT_NE(r.err.find("linux.cgroupsPath: component \"..\" is not allowed"), std::string::npos)
        << r.err;
  }
  for (const auto& [id, entry] : self_) {
    auto mount = mounts_.find(entry.first);
    if (mount == mounts_.end()) continue;
    EXPECT_FALSE(std::filesystem::exists(mount->second + "/" + name_));
    EXPECT_FALSE(std::filesystem::exists(mount->second + "/a"));
  }
  expect_nothing_left();
}

TEST_F(HostCgroupHostileTest, AFailedCreateLeavesNoCgroup) {
  // The agent refuses the spec after kvrun made the cgroup and the monitor joined it.
  auto dir = bundle("b", "true",
                    {{"linux", {{"cgroupsPath", name_ + "/c1"}, {"sysctl", {{"../x", "1"}}}}}});
  Result created = kvrun({"create", "-b", dir.string(), "c1"});
  EXPECT_EQ(created.status, 1) << created.err;
  for (const auto& leaf : {"c1", ""})
    for (const auto& d : expected_dirs(leaf))
      EXPECT_FALSE(std::filesystem::exists(d)) << d << " left by a failed create";
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
