// Namespaces beyond the defaults, bundles, and what is left on the host afterwards: nothing.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class LifecycleAsRoot : public ContainerAsRoot {};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(LifecycleAsRoot, UserNamespaceMapsRootToAnUnprivilegedHostUid) {
  auto config =
      base_config({"/bin/sh", "-c",
                   "cat /proc/self/uid_map /proc/self/gid_map; id -u; stat -c %u /bin/busybox"});
  config["linux"]["namespaces"].push_back({{"type", "user"}});
  config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  auto result = run("userns", config);
  ASSERT_EQ(result.exit_status, 0) << result.err;
  // Root inside; the host's root-owned files show up as the overflow uid.
  EXPECT_EQ(result.out,
            "         0     100000      65536\n         0     100000      65536\n0\n65534\n");
}

TEST_F(LifecycleAsRoot, ExecJoinsTheUserNamespaceToo) {
  auto config = base_config({"sleep", "1000"});
  config["linux"]["namespaces"].push_back({{"type", "user"}});
  config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
  config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}};
  AgentClient client(agent_->socket_path());
  auto created = create(client, "userexec", config);
  ASSERT_TRUE(created.ok) << created.error;
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "userexec"}}).ok);
  auto exec =
      client.call("ExecProcess",
                  {{"container_id", "userexec"},
                   {"exec_id", "e"},
                   {"process",
                    {{"args", {"/bin/sh", "-c", "id -u; cat /proc/self/uid_map; cat /proc/1/comm"}},
                     {"user", {{"uid", 1000}, {"gid", 1000}}}}}});
  ASSERT_TRUE(exec.ok) << exec.error;
  UniqueFd out = attach(agent_->socket_path(), "userexec", "e", "stdout");
  EXPECT_EQ(read_all(out.get()), "1000\n         0     200000      65536\nsleep\n");
}

TEST_F(LifecycleAsRoot, CgroupNamespaceHidesTheAgentsCgroupPath) {
  auto config = base_config({"cat", "/proc/self/cgroup"});
  config["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  auto result = run("cgroupns", config);
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_NE(result.out.find("0::/\n"), std::string::npos) << result.out;
}

TEST_F(LifecycleAsRoot, CreatesFromABundleDirectory) {
  auto bundle = dir_.path() / "bundle";
  std::filesystem::create_directories(bundle);
  std::filesystem::create_symlink(rootfs_, bundle / "rootfs");
  auto config = base_config({"/bin/sh", "-c", "exit 5"});
  std::ofstream(bundle / "config.json") << config.dump();
  AgentClient client(agent_->socket_path());
  auto created =
      client.call("CreateContainer", {{"container_id", "b"}, {"bundle_path", bundle.string()}});
  ASSERT_TRUE(created.ok) << created.error;
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "b"}}).ok);
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "b"}}).body["exit_status"], 5);

  auto missing =
      client.call("CreateContainer", {{"container_id", "c"}, {"bundle_path", "/nonexistent"}});
  EXPECT_EQ(missing.error, "open /nonexistent/config.json: No such file or directory");
}

TEST_F(LifecycleAsRoot, AgentShutdownLeavesNoProcessesOrMounts) {
  std::string mounts_before = read_file("/proc/self/mountinfo");
  std::vector<pid_t> pids;
  {
    AgentClient client(agent_->socket_path());
    for (const char* id : {"a", "b"}) {
      auto created = create(client, id, base_config({"sleep", "1000"}));
      ASSERT_TRUE(created.ok) << created.error;
      pids.push_back(created.body["pid"].get<pid_t>());
    }
    ASSERT_TRUE(client.call("StartContainer", {{"container_id", "a"}}).ok);  // b stays created
    auto exec = client.call(
        "ExecProcess",
        {{"container_id", "a"}, {"exec_id", "e"}, {"process", {{"args", {"sleep", "1000"}}}}});
    ASSERT_TRUE(exec.ok) << exec.error;
    pids.push_back(exec.body["pid"].get<pid_t>());
  }
  agent_.reset();  // SIGTERM and wait
  for (pid_t pid : pids) {
    EXPECT_NE(::kill(pid, 0), 0) << "pid " << pid << " outlived the agent";
  }
  EXPECT_EQ(read_file("/proc/self/mountinfo"), mounts_before);
}

// Containers of one pod share the sandbox's namespaces by path.
TEST_F(LifecycleAsRoot, JoinsAnotherContainersNamespacesByPath) {
  AgentClient client(agent_->socket_path());
  auto sandbox = create(client, "sandbox", base_config({"sleep", "1000"}));
  ASSERT_TRUE(sandbox.ok) << sandbox.error;
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "sandbox"}}).ok);
  std::string ns = "/proc/" + std::to_string(sandbox.body["pid"].get<int>()) + "/ns/";

  auto config =
      base_config({"/bin/sh", "-c", "hostname; cat /proc/1/comm; readlink /proc/self/ns/net"});
  config.erase("hostname");
  config["linux"]["namespaces"] = {{{"type", "mount"}},
                                   {{"type", "pid"}, {"path", ns + "pid"}},
                                   {{"type", "network"}, {"path", ns + "net"}},
                                   {{"type", "uts"}, {"path", ns + "uts"}},
                                   {{"type", "ipc"}, {"path", ns + "ipc"}}};
  auto result = run("member", config);
  ASSERT_EQ(result.exit_status, 0) << result.err;
  std::string net = std::filesystem::read_symlink(ns + "net").string();
  EXPECT_EQ(result.out, "kvrun-test\nsleep\n" + net + "\n");

  auto bad_config = config;
  bad_config["linux"]["namespaces"][2]["path"] = "/proc/999999999/ns/net";
  auto bad = create(client, "bad", bad_config);
  EXPECT_EQ(bad.error, "open network namespace /proc/999999999/ns/net: No such file or directory");

  // Removing the sandbox kills its PID namespace, members included, without deadlocking on
  // the member's unreaped init.
  config["process"]["args"] = {"sleep", "1000"};
  ASSERT_TRUE(create(client, "member2", config).ok);
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "member2"}}).ok);
  auto removed = client.call("RemoveContainer", {{"container_id", "sandbox"}, {"force", true}});
  ASSERT_TRUE(removed.ok) << removed.error;
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "member2"}}).body["exit_status"], 137);
}

// In the guest the agent is PID 1: every orphan of the VM becomes its child and must be reaped.
TEST_F(LifecycleAsRoot, AsPid1TheAgentReapsOrphans) {
  agent_.reset();
  agent_ = std::make_unique<AgentProcess>(
      dir_.path(), std::vector<std::string>{"--cgroups", "best-effort"},
      std::vector<std::string>{"unshare", "--pid", "--fork", "--mount-proc",
                               "--kill-child=SIGTERM"});
  auto config = base_config({"/bin/sh", "-c", "sleep 0.2 & echo $!"});
  config["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "uts"}}};  // agent's PID ns
  auto result = run("orphans", config);
  ASSERT_EQ(result.exit_status, 0) << result.err;
  std::string orphan = result.out.substr(0, result.out.find('\n'));
  std::string expected = "reaped pid " + orphan + " (not a container process)";
  for (int i = 0; i < 100 && agent_->log().find(expected) == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(agent_->log().find(expected), std::string::npos) << agent_->log();
  EXPECT_NE(agent_->log().find("(cgroup root /sys/fs/cgroup, best effort)"), std::string::npos);
  // unshare ignores SIGTERM while it waits; stop the agent itself, then unshare follows.
  std::string pid = std::to_string(agent_->pid());
  std::istringstream children(read_file("/proc/" + pid + "/task/" + pid + "/children"));
  pid_t agent_pid = 0;
  ASSERT_TRUE(children >> agent_pid);
  ASSERT_EQ(::kill(agent_pid, SIGTERM), 0);
}

}  // namespace
}  // namespace kvrun::agent::test

namespace kvrun::agent::test {
namespace {

class OverlayAsRoot : public ContainerAsRoot {};

TEST_F(OverlayAsRoot, WritesGoToScratchSpaceNeverToTheRootfs) {
  auto config = base_config({"/bin/sh", "-c",
                             "echo new > /written && rm /etc/passwd && cat /written && "
                             "ls /etc/passwd 2>/dev/null || echo gone; grep ' / ' /proc/mounts"});
  config["root"]["readonly"] = false;
  AgentClient client(agent_->socket_path());
  auto created = client.call("CreateContainer", {{"container_id", "ov"},
                                                 {"config", config},
                                                 {"rootfs", rootfs_.string()},
                                                 {"overlay", true}});
  ASSERT_TRUE(created.ok) << created.error;
  UniqueFd out = attach(agent_->socket_path(), "ov", "", "stdout");
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "ov"}}).ok);
  std::string output = read_all(out.get());
  EXPECT_EQ(output.substr(0, 9), "new\ngone\n") << output;
  EXPECT_NE(output.find("overlay / overlay"), std::string::npos) << output;
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "ov"}}).body["exit_status"], 0);
  ASSERT_TRUE(client.call("RemoveContainer", {{"container_id", "ov"}}).ok);
  // The shared rootfs is untouched and the scratch space is gone.
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "written"));
  EXPECT_TRUE(std::filesystem::exists(rootfs_ / "etc/passwd"));
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "state/ov"));
}

// A startContainer hook runs in the container's init, before its exec, for up to its timeout.
// The agent waits for that exec without blocking: meanwhile it answers other requests and runs
// other containers. Before, a 3 s hook held every request of every client for 3 s.
TEST_F(LifecycleAsRoot, ASlowStartContainerHookHoldsOnlyItsOwnStart) {
  using namespace std::chrono_literals;
  using Clock = std::chrono::steady_clock;
  auto config = base_config({"echo", "started"});
  config["hooks"]["startContainer"] = {{{"path", "/bin/sleep"}, {"args", {"sleep", "3"}}}};
  AgentClient client(agent_->socket_path());
  auto created = create(client, "slowhook", config);
  ASSERT_TRUE(created.ok) << created.error;
  UniqueFd out = attach(agent_->socket_path(), "slowhook", "", "stdout");
  const auto begin = Clock::now();
  auto started = std::async(std::launch::async, [&] {
    return client.call("StartContainer", {{"container_id", "slowhook"}});
  });
  std::this_thread::sleep_for(200ms);
  AgentClient other(agent_->socket_path());
  EXPECT_TRUE(other.call("Ping").ok);
  EXPECT_EQ(run_args("meanwhile", {"echo", "meanwhile"}).out, "meanwhile\n");
  EXPECT_LT(Clock::now() - begin, 2500ms) << "other requests waited for the hook";
  auto reply = started.get();
  EXPECT_TRUE(reply.ok) << reply.error;
  EXPECT_GE(Clock::now() - begin, 3s) << "StartContainer answered before its hook ended";
  EXPECT_EQ(read_all(out.get()), "started\n");
}

// Removed while its startContainer hook runs, a container's start is answered at once.
TEST_F(LifecycleAsRoot, RemovingAContainerWhileItStartsAnswersTheStart) {
  using namespace std::chrono_literals;
  auto config = base_config({"true"});
  config["hooks"]["startContainer"] = {{{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}}};
  AgentClient client(agent_->socket_path());
  auto created = create(client, "removed", config);
  ASSERT_TRUE(created.ok) << created.error;
  auto started = std::async(std::launch::async, [&] {
    return client.call("StartContainer", {{"container_id", "removed"}});
  });
  std::this_thread::sleep_for(200ms);
  AgentClient other(agent_->socket_path());
  auto removed = other.call("RemoveContainer", {{"container_id", "removed"}, {"force", true}});
  EXPECT_TRUE(removed.ok) << removed.error;
  ASSERT_EQ(started.wait_for(5s), std::future_status::ready);
  auto reply = started.get();
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.error, "container removed: removed before its process started");
}

}  // namespace
}  // namespace kvrun::agent::test
