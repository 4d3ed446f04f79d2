// A VM sandbox's host cgroup (label linux: boots our kernel; nested where /dev/kvm is missing):
// kvrun-vmm itself runs in the container's cgroup, whose memory limit is the guest's RAM plus
// the VMM's overhead, and `kvrun delete` removes it.
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "cli_fixture.h"

namespace kvrun::e2e {
namespace {

bool any_cgroup_mounted() {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);)
    if (line.find(" - cgroup ") != std::string::npos ||
        line.find(" - cgroup2 ") != std::string::npos)
      return true;
  return false;
}

// Mount point of the hierarchy with `controller` (v1), else of cgroup2; "" if neither.
std::pair<std::string, bool> memory_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string unified;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string word; fields >> word;) f.push_back(word);
    auto dash = std::find(f.begin(), f.end(), "-");
    if (dash == f.end() || f.end() - dash < 4) continue;
    if (*(dash + 1) == "cgroup" && ("," + *(dash + 3) + ",").find(",memory,") != std::string::npos)
      return {f[4], false};
    if (*(dash + 1) == "cgroup2") unified = f[4];
  }
  return {unified, true};
}

std::string read_value(const std::string& path) {
  std::ifstream in(path);
  std::string value;
  std::getline(in, value);
  return value;
}

std::string exe_name(const std::string& pid) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink("/proc/" + pid + "/exe", ec);
  return ec ? read_value("/proc/" + pid + "/comm") : target.filename().string();
}

// The first descendant of `pid` running kvrun-vmm.
std::string find_vmm(const std::string& pid) {
  std::ifstream in("/proc/" + pid + "/task/" + pid + "/children");
  for (std::string child; in >> child;) {
    if (exe_name(child) == "kvrun-vmm") return child;
    if (auto found = find_vmm(child); !found.empty()) return found;
  }
  return "";
}

class HostCgroupVmTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    use_vm_sandbox(KVRUN_VMM_PATH, KVRUN_INITRD_PATH);
    // The nested test machine mounts no cgroups: mount the unified hierarchy, as systemd does.
    if (!any_cgroup_mounted()) {
      ASSERT_EQ(::mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, nullptr), 0)
          << std::strerror(errno);
      mounted_ = true;
    }
  }
  void TearDown() override {
    CliTest::TearDown();
    if (mounted_) ::umount2("/sys/fs/cgroup", MNT_DETACH);
  }
  bool mounted_ = false;
};

TEST_F(HostCgroupVmTest, VmmRunsInTheContainersCgroupLimitedToGuestRamPlusOverhead) {
  const std::string name = "kvrun-vm-test-" + std::to_string(::getpid());
  const std::string cgroup = "/" + name + "/c1";
  auto dir = bundle("b", "sleep 100",
                    {{"linux",
                      {{"cgroupsPath", cgroup},
                       {"resources",
                        {{"memory", {{"limit", 64 << 20}}},
                         {"cpu", {{"quota", 100000}, {"period", 100000}}}}}}}});
  auto pid_file = scratch_ / "pid";
  Result created = kvrun({"create", "-b", dir.string(), "--pid-file", pid_file.string(), "c1"},
                         {.input = "", .timeout_seconds = 120});
  ASSERT_EQ(created.status, 0) << created.err;
  std::string monitor = read_value(pid_file);
  std::string vmm = find_vmm(monitor);
  ASSERT_FALSE(vmm.empty()) << "no kvrun-vmm under monitor " << monitor;

  // On every hierarchy (cgroup2 alone nested; v1 + unified on a hybrid host).
  std::ifstream lines("/proc/" + vmm + "/cgroup");
  int hierarchies = 0;
  for (std::string line; std::getline(lines, line); ++hierarchies)
    EXPECT_EQ(line.substr(line.find(':', line.find(':') + 1) + 1), cgroup) << line;
  EXPECT_GT(hierarchies, 0);

  // 64 MiB limit -> a 128 MiB guest (sizing.h's minimum) -> 128 + 64 MiB on the host.
  auto [mount, v2] = memory_mount();
  ASSERT_FALSE(mount.empty());
  std::string memory = mount + cgroup;
  EXPECT_EQ(read_value(memory + (v2 ? "/memory.max" : "/memory.limit_in_bytes")),
            std::to_string((128 + 64) << 20));
  std::uint64_t used =
      std::stoull(read_value(memory + (v2 ? "/memory.current" : "/memory.usage_in_bytes")));
  EXPECT_GT(used, 0u) << "the VM's memory is charged to the container's cgroup";
  std::cout << "host cgroup of a 128 MiB VM after create: " << (used >> 20) << " MiB charged"
            << std::endl;
  if (v2) {
    EXPECT_EQ(read_value(memory + "/cpu.max"), "100000 100000");
    EXPECT_EQ(read_value(memory + "/pids.max"), "512");
  }

  Result deleted = kvrun({"delete", "--force", "c1"});
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  EXPECT_FALSE(std::filesystem::exists(memory));
  EXPECT_FALSE(std::filesystem::exists(mount + "/" + name)) << "the parent kvrun made";
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
