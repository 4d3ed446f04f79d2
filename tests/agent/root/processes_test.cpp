// ListProcesses, SignalProcess with "all", and DestroySandbox on real containers.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class ProcessesAsRoot : public ContainerAsRoot {
 protected:
  nlohmann::json list(AgentClient& client, const std::string& id) {
    auto reply = client.call("ListProcesses", {{"container_id", id}});
    EXPECT_TRUE(reply.ok) << reply.error;
    return reply.body.value("processes", nlohmann::json::array());
  }
  // Polls until start_box's four processes have each exec'd their sleep: the shell forks its
  // background jobs asynchronously, and a forked child shows the shell's argv until it execs.
  nlohmann::json list_until_all_sleep(AgentClient& client, const std::string& id) {
    nlohmann::json processes;
    for (int i = 0; i < 200; ++i) {
      processes = list(client, id);
      bool all = true;
      for (const char* seconds : {"1001", "1002", "1003", "1004"}) {
        all = all && find_args(processes, {"sleep", seconds}) != nullptr;
      }
      if (all) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return processes;
  }
  static const nlohmann::json* find_args(const nlohmann::json& processes,
                                         const std::vector<std::string>& args) {
    for (const auto& p : processes) {
      if (p["args"] == nlohmann::json(args)) return &p;
    }
    return nullptr;
  }
  void start_box(AgentClient& client, const std::string& id, const nlohmann::json& config) {
    auto created = create(client, id, config);
    ASSERT_TRUE(created.ok) << created.error;
    init_pid_ = created.body["pid"].get<int>();
    ASSERT_TRUE(client.call("StartContainer", {{"container_id", id}}).ok);
    auto exec = client.call(
        "ExecProcess",
        {{"container_id", id}, {"exec_id", "e"}, {"process", {{"args", {"sleep", "1004"}}}}});
    ASSERT_TRUE(exec.ok) << exec.error;
    exec_pid_ = exec.body["pid"].get<int>();
  }

  int init_pid_ = -1, exec_pid_ = -1;
};

const std::vector<std::string> kInitArgs = {"/bin/sh", "-c",
                                            "sleep 1001 & sleep 1002 & exec sleep 1003"};

TEST_F(ProcessesAsRoot, ListsEveryProcessWithItsExecIdAndArgs) {
  AgentClient client(agent_->socket_path());
  start_box(client, "box", base_config(kInitArgs));
  ASSERT_FALSE(HasFatalFailure());
  auto processes = list_until_all_sleep(client, "box");
  ASSERT_EQ(processes.size(), 4u) << processes.dump();
  // The init's argv is what it exec'd last; pids are the agent's view (here: host pids).
  const auto* init = find_args(processes, {"sleep", "1003"});
  ASSERT_NE(init, nullptr) << processes.dump();
  EXPECT_EQ((*init)["pid"], init_pid_);
  EXPECT_EQ((*init)["exec_id"], "");
  const auto* exec = find_args(processes, {"sleep", "1004"});
  ASSERT_NE(exec, nullptr) << processes.dump();
  EXPECT_EQ((*exec)["pid"], exec_pid_);
  EXPECT_EQ((*exec)["exec_id"], "e");
  for (const char* seconds : {"1001", "1002"}) {
    const auto* job = find_args(processes, {"sleep", seconds});
    ASSERT_NE(job, nullptr) << processes.dump();
    EXPECT_FALSE(job->contains("exec_id")) << job->dump();  // the agent did not start it
    EXPECT_TRUE(std::filesystem::exists("/proc/" + std::to_string((*job)["pid"].get<int>())));
  }
  auto missing = client.call("ListProcesses", {{"container_id", "nope"}});
  EXPECT_EQ(missing.error, "container nope: no such container");
}

// A TERM to all reaches the background job and the exec (both die of it) and the init, whose
// trap prints and keeps it running; KILL to all then ends everything.
TEST_F(ProcessesAsRoot, KillAllSignalsEveryProcess) {
  AgentClient client(agent_->socket_path());
  auto config = base_config({"/bin/sh", "-c",
                             "trap 'echo init got TERM' TERM; sleep 1001 & "
                             "while :; do sleep 0.05; done"});
  start_box(client, "box", config);
  ASSERT_FALSE(HasFatalFailure());
  UniqueFd out = attach(agent_->socket_path(), "box", "", "stdout");
  nlohmann::json before;
  for (int i = 0; i < 200 && !find_args(before, {"sleep", "1001"}); ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(25));
    before = list(client, "box");
  }
  ASSERT_NE(find_args(before, {"sleep", "1001"}), nullptr) << before.dump();

  auto term =
      client.call("SignalProcess", {{"container_id", "box"}, {"signal", 15}, {"all", true}});
  ASSERT_TRUE(term.ok) << term.error;
  auto waited = client.call("WaitProcess", {{"container_id", "box"}, {"exec_id", "e"}});
  EXPECT_EQ(waited.body["exit_status"], 128 + 15);
  nlohmann::json processes;
  for (int i = 0; i < 200; ++i) {
    processes = list(client, "box");
    if (!find_args(processes, {"sleep", "1001"})) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(find_args(processes, {"sleep", "1001"}), nullptr) << processes.dump();
  EXPECT_NE(find_args(processes, {"/bin/sh", "-c", config["process"]["args"][2]}), nullptr)
      << "the init trapped TERM and must still run: " << processes.dump();

  // The trap runs once the init's foreground sleep has ended.
  std::string said;
  char buffer[256];
  while (said.find("init got TERM") == std::string::npos) {
    ssize_t n = ::read(out.get(), buffer, sizeof buffer);
    ASSERT_GT(n, 0) << said;
    said.append(buffer, static_cast<std::size_t>(n));
  }
  auto kill = client.call("SignalProcess", {{"container_id", "box"}, {"signal", 9}, {"all", true}});
  ASSERT_TRUE(kill.ok) << kill.error;
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "box"}}).body["exit_status"], 137);
  auto again =
      client.call("SignalProcess", {{"container_id", "box"}, {"signal", 9}, {"all", true}});
  EXPECT_EQ(again.error, "container box: has no running process");
  auto with_exec = client.call(
      "SignalProcess", {{"container_id", "box"}, {"exec_id", "e"}, {"signal", 9}, {"all", true}});
  EXPECT_EQ(with_exec.error,
            "body.all: cannot be combined with body.exec_id (it signals every process)");
}

// Without a cgroup the agent finds the processes by the container's PID namespace.
TEST_F(ProcessesAsRoot, WithoutACgroupThePidNamespaceIsTheContainer) {
  agent_.reset();
  agent_ = std::make_unique<AgentProcess>(
      dir_.path(),
      std::vector<std::string>{"--cgroup-root", dir_.path().string(), "--cgroups", "best-effort"});
  AgentClient client(agent_->socket_path());
  start_box(client, "box", base_config(kInitArgs));
  ASSERT_FALSE(HasFatalFailure());
  auto processes = list_until_all_sleep(client, "box");
  ASSERT_EQ(processes.size(), 4u) << processes.dump() << agent_->log();
  ASSERT_NE(agent_->log().find("runs without a cgroup"), std::string::npos);
  auto kill = client.call("SignalProcess", {{"container_id", "box"}, {"signal", 9}, {"all", true}});
  ASSERT_TRUE(kill.ok) << kill.error;
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "box"}}).body["exit_status"], 137);
  EXPECT_EQ(
      client.call("WaitProcess", {{"container_id", "box"}, {"exec_id", "e"}}).body["exit_status"],
      137);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(ProcessesAsRoot, DestroySandboxRemovesEverythingAndEndsTheAgent) {
  std::string mounts_before = read_file("/proc/self/mountinfo");
  std::vector<int> pids;
  {
    AgentClient client(agent_->socket_path());
    start_box(client, "running", base_config(kInitArgs));
    ASSERT_FALSE(HasFatalFailure());
    pids = {init_pid_, exec_pid_};
    for (const auto& p : list_until_all_sleep(client, "running"))
      pids.push_back(p["pid"].get<int>());
    // One only created (blocked before exec), one paused, one on an overlay (mounts).
    auto created = create(client, "created", base_config({"sleep", "1000"}));
    ASSERT_TRUE(created.ok) << created.error;
    pids.push_back(created.body["pid"].get<int>());
    ASSERT_TRUE(client.call("PauseContainer", {{"container_id", "running"}}).ok);
    auto overlay = client.call("CreateContainer", {{"container_id", "ov"},
                                                   {"config", base_config({"sleep", "1000"})},
                                                   {"rootfs", rootfs_.string()},
                                                   {"overlay", true}});
    ASSERT_TRUE(overlay.ok) << overlay.error;

    auto destroyed = client.call("DestroySandbox");
    ASSERT_TRUE(destroyed.ok) << destroyed.error;
    EXPECT_EQ(destroyed.body, nlohmann::json::object());
    // Until the client leaves, the agent still answers, but creates nothing.
    EXPECT_EQ(create(client, "late", base_config({"true"})).error,
              "the sandbox is being destroyed");
    EXPECT_EQ(client.call("ListProcesses", {{"container_id", "running"}}).error,
              "container running: no such container");
  }
  int status = agent_->wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(WIFEXITED(status)) << status << "\n" << agent_->log();
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (int pid : pids) EXPECT_NE(::kill(pid, 0), 0) << "pid " << pid << " outlived the sandbox";
  EXPECT_EQ(read_file("/proc/self/mountinfo"), mounts_before);
  for (const char* id : {"running", "created", "ov"}) {
    EXPECT_FALSE(std::filesystem::exists(std::string("/sys/fs/cgroup/unified/kvrun/") + id)) << id;
  }
  EXPECT_FALSE(std::filesystem::exists(agent_->socket_path()));
  EXPECT_NE(agent_->log().find("sandbox destroyed (3 container(s) removed)"), std::string::npos)
      << agent_->log();
}

}  // namespace
}  // namespace kvrun::agent::test
