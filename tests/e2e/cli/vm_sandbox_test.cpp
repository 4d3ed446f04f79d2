// kvrun with VM sandboxes (label linux: boots our kernel; runs nested where /dev/kvm is missing).
// Paths to kvrun-vmm and the initramfs come from the build; the kernel from KVRUN_KERNEL or the
// kernel cache (kvrun's own lookup).
#include <fstream>

#include "cli_fixture.h"

namespace kvrun::e2e {
namespace {

class CliVmTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    use_vm_sandbox(KVRUN_VMM_PATH, KVRUN_INITRD_PATH);
  }
};

TEST_F(CliVmTest, AgentInTheVmAnswersAndNothingIsLeft) {
  // Boots the VM, reaches the agent through vsock, gets its refusal of a bad sysctl name back
  // as the one-line error, and tears everything down.
  auto dir = bundle("b", "true", {{"linux", {{"sysctl", {{"../x", "1"}}}}}});
  Result r = kvrun({"run", "-b", dir.string(), "c1"}, {.input = "", .timeout_seconds = 90});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("CreateContainer: config.linux.sysctl.../x"), std::string::npos) << r.err;
  // The image was built and cached for the next run.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(scratch_ / "cache"), {}), 2)
      << "expected one image and the lock file";
  expect_nothing_left();
}

TEST_F(CliVmTest, RunGivesOutputAndExitStatus) {
  auto dir = bundle("b", "echo out; echo err >&2; echo written > /tmp/f; cat /tmp/f; exit 3");
  Result r = kvrun({"run", "-b", dir.string(), "c1"}, {.input = "", .timeout_seconds = 90});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "out\nwritten\n");
  EXPECT_EQ(r.err, "err\n");
  // Writes went to the overlay in the guest, never to the bundle.
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "tmp/f"));
  expect_nothing_left();
}

TEST_F(CliVmTest, SmallHostFilesOfBindMountsAreCopiedIntoTheVm) {
  std::ofstream(scratch_ / "greeting") << "hello from the host\n";
  auto dir =
      bundle("b", "cat /etc/greeting; (echo x >> /etc/greeting) 2>/dev/null || echo read-only",
             {{"mounts",
               {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                {{"destination", "/etc/greeting"},
                 {"type", "bind"},
                 {"source", (scratch_ / "greeting").string()},
                 {"options", {"rbind", "ro"}}}}}});
  Result r = kvrun({"run", "-b", dir.string(), "c1"}, {.input = "", .timeout_seconds = 90});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello from the host\nread-only\n");
  expect_nothing_left();
}

TEST_F(CliVmTest, KilledVmMeansStoppedAndDeleteCleansUp) {
  auto dir = bundle("b", "while :; do sleep 1; done");
  ASSERT_EQ(
      kvrun({"run", "-d", "-b", dir.string(), "--pid-file", (scratch_ / "pid").string(), "c1"},
            {.input = "", .timeout_seconds = 90})
          .status,
      0);
  auto s = state("c1");
  ASSERT_EQ(s["status"], "running");
  // Kill the VMM behind the monitor's back: the container is gone with it.
  std::ifstream in(root_ / "c1/state.json");
  auto full = nlohmann::json::parse(in);
  ::kill(full["vmm_pid"].get<pid_t>(), SIGKILL);
  std::ifstream pid_in(scratch_ / "pid");
  pid_t monitor = 0;
  pid_in >> monitor;
  EXPECT_EQ(wait_status(monitor), 137);
  EXPECT_EQ(state("c1")["status"], "stopped");
  ASSERT_EQ(kvrun({"delete", "c1"}).status, 0);
  expect_nothing_left();
}

// kvrun update: new cgroup limits for a running container, as podman update and containerd's
// Update ask; a refused update changes nothing and says why.
TEST_F(CliVmTest, UpdateChangesTheContainersLimitsInTheVm) {
  // The guest's cgroup2 hierarchy on /sys, to read the container's limits from inside it.
  auto dir = bundle("b", "while :; do sleep 1; done",
                    {{"mounts",
                      {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                       {{"destination", "/sys"}, {"type", "cgroup2"}, {"source", "cgroup2"}}}},
                     {"linux", {{"resources", {{"pids", {{"limit", 50}}}}}}}});
  ASSERT_EQ(kvrun({"run", "-d", "-b", dir.string(), "c1"}, {.input = "", .timeout_seconds = 90})
                .status,
            0);
  auto limits = [&] {
    Result r = kvrun({"exec", "c1", "sh", "-c",
                      "read cg < /proc/self/cgroup; cg=${cg#0::}; "
                      "cat /sys$cg/memory.max /sys$cg/pids.max"});
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(limits(), "max\n50\n");

  std::ofstream(scratch_ / "resources.json")
      << R"({"memory": {"limit": 41943040}, "pids": {"limit": 20}})";
  Result update = kvrun({"update", "--resources", (scratch_ / "resources.json").string(), "c1"});
  EXPECT_EQ(update.status, 0) << update.err;
  EXPECT_EQ(limits(), "41943040\n20\n");

  Result swap = kvrun({"update", "-r", "-", "c1"},
                      {.input = R"({"pids": {"limit": 30}, "memory": {"limit": 41943040,
                                   "swap": 1}})"});
  EXPECT_EQ(swap.status, 1);
  EXPECT_NE(swap.err.find("swap: is smaller than the memory limit"), std::string::npos)
      << swap.err;
  Result not_resources = kvrun({"update", "-r", "-", "c1"}, {.input = "[1]"});
  EXPECT_EQ(not_resources.status, 1);
  EXPECT_NE(not_resources.err.find("not a JSON object"), std::string::npos) << not_resources.err;
  EXPECT_EQ(limits(), "41943040\n20\n");

  ASSERT_EQ(kvrun({"kill", "c1", "KILL"}).status, 0);
  EXPECT_TRUE(wait_until([&] { return state("c1")["status"] == "stopped"; }, 30000));
  EXPECT_EQ(kvrun({"update", "-r", (scratch_ / "resources.json").string(), "c1"}).status, 1);
  ASSERT_EQ(kvrun({"delete", "c1"}).status, 0);
  expect_nothing_left();
}

// runtime-spec 1.1's resource fields land in the guest's cgroup v2 files as runc's v2 driver
// writes them; unified is written last (it overrides pids.limit here), and a unified key that
// names no file of the cgroup fails the run with the key named.
TEST_F(CliVmTest, ResourcesOfRuntimeSpec11LandInTheCgroupFiles) {
  nlohmann::json mounts = {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
                           {{"destination", "/sys"}, {"type", "cgroup2"}, {"source", "cgroup2"}}};
  nlohmann::json resources = {
      {"memory", {{"reservation", 8388608}, {"swappiness", 10}, {"kernel", 1048576}}},
      {"cpu", {{"quota", 50000}, {"period", 100000}, {"burst", 20000}, {"idle", 1}}},
      {"pids", {{"limit", 50}}},
      {"network", {{"classID", 1}}},
      {"unified", {{"pids.max", "7"}, {"memory.high", "104857600"}, {"cgroup.max.depth", "2"}}}};
  auto dir = bundle("b",
                    "read cg < /proc/self/cgroup; cg=/sys${cg#0::}; cd $cg && cat memory.low "
                    "cpu.max cpu.max.burst cpu.idle pids.max memory.high cgroup.max.depth",
                    {{"mounts", mounts}, {"linux", {{"resources", resources}}}});
  Result r = kvrun({"run", "-b", dir.string(), "c1"}, {.input = "", .timeout_seconds = 90});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "8388608\n50000 100000\n20000\n1\n7\n104857600\n2\n") << r.err;

  resources["unified"] = {{"memory.hihg", "1"}};
  dir = bundle("b2", "true", {{"mounts", mounts}, {"linux", {{"resources", resources}}}});
  r = kvrun({"run", "-b", dir.string(), "c2"}, {.input = "", .timeout_seconds = 90});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(
      r.err.find("linux.resources.unified.memory.hihg: no such file in the container's cgroup"),
      std::string::npos)
      << r.err;

  // An update's unified file of a controller the container did not use before (cpuset).
  resources.erase("unified");
  dir = bundle("b3", "while :; do sleep 1; done",
               {{"mounts", mounts}, {"linux", {{"resources", resources}}}});
  ASSERT_EQ(
      kvrun({"run", "-d", "-b", dir.string(), "c3"}, {.input = "", .timeout_seconds = 90}).status,
      0);
  Result update = kvrun({"update", "-r", "-", "c3"},
                        {.input = R"({"unified": {"cpuset.cpus": "0", "pids.max": "9"}})"});
  EXPECT_EQ(update.status, 0) << update.err;
  r = kvrun({"exec", "c3", "sh", "-c",
             "read cg < /proc/self/cgroup; cd /sys${cg#0::} && cat cpuset.cpus pids.max"});
  EXPECT_EQ(r.out, "0\n9\n") << r.err;
  ASSERT_EQ(kvrun({"delete", "--force", "c3"}).status, 0);
  expect_nothing_left();
}

// kvrun-vmm processes started under this test's state root.
int vmms_under(const std::filesystem::path& root) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream comm(entry.path() / "comm"), cmdline_in(entry.path() / "cmdline");
    std::string name, cmdline((std::istreambuf_iterator<char>(cmdline_in)), {});
    std::getline(comm, name);
    if (name == "kvrun-vmm" && cmdline.find(root.string()) != std::string::npos) ++count;
  }
  return count;
}

TEST_F(CliVmTest, PodMembersShareTheSandboxesVmEachWithItsOwnRootfs) {
  // A second root filesystem, told apart by one file.
  auto other_rootfs = scratch_ / "rootfs-b";
  std::filesystem::copy(rootfs_, other_rootfs, std::filesystem::copy_options::recursive);
  std::ofstream(other_rootfs / "member-id") << "b\n";

  auto sandbox = pod_patch("pod1", true);
  sandbox["hostname"] = "pod-vm";
  auto pause = bundle("pause", "while :; do sleep 1; done", sandbox);
  ASSERT_EQ(
      kvrun({"run", "-d", "-b", pause.string(), "pod1"}, {.input = "", .timeout_seconds = 120})
          .status,
      0);

  auto member = pod_patch("pod1", false);
  member["hostname"] = nullptr;
  auto on_b = member;
  on_b["root"]["path"] = other_rootfs.string();
  auto app = bundle("app", "while :; do sleep 1; done", on_b);
  Result started =
      kvrun({"run", "-d", "-b", app.string(), "app1"}, {.input = "", .timeout_seconds = 120});
  ASSERT_EQ(started.status, 0) << started.err;
  Result in_app = kvrun({"exec", "app1", "sh", "-c", "cat /member-id; hostname"});
  EXPECT_EQ(in_app.out, "b\npod-vm\n") << in_app.err;
  EXPECT_EQ(vmms_under(root_), 1) << "the member booted a VM of its own";

  // app1 leaves its disk slot; the next member's image takes it, and shows its own files.
  ASSERT_EQ(kvrun({"delete", "--force", "app1"}).status, 0);
  auto once = bundle("once", "test -e /member-id && echo stale || echo own-rootfs; exit 3", member);
  Result ran = kvrun({"run", "-b", once.string(), "app2"}, {.input = "", .timeout_seconds = 120});
  EXPECT_EQ(ran.status, 3) << ran.err;
  EXPECT_EQ(ran.out, "own-rootfs\n");
  EXPECT_EQ(state("pod1")["status"], "running");

  ASSERT_EQ(kvrun({"delete", "--force", "pod1"}).status, 0);
  EXPECT_EQ(vmms_under(root_), 0);
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
