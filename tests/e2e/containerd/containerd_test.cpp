// containerd 1.6 driving containerd-shim-kvrun-v2 through `ctr`, as a user would. Built twice:
// with host sandboxes (label root; the agent as PID 1 of a PID namespace) and with VMs (label
// linux; nested KVM). KVRUN_TEST_SANDBOX and KVRUN_TEST_SUITE say which.
#include <signal.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "containerd_fixture.h"
#include "shim/containerd/shim_socket.h"
#include "shim/containerd/task_service.h"
#include "shim/containerd/ttrpc/client.h"
#include "shim/containerd/ttrpc/status.h"

namespace kvrun::e2e {
namespace {

constexpr const char* kRuntime = "io.containerd.kvrun.v2";

class KVRUN_TEST_SUITE : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    containerd_ = new Containerd;
    containerd_->start(KVRUN_TEST_SANDBOX, "", false);
  }
  static void TearDownTestSuite() {
    containerd_->stop();
    delete containerd_;
  }
  void SetUp() override {
    // A failed suite set-up must fail every test, not skip it (ctest hides skips' output).
    ASSERT_TRUE(containerd_->ready) << "containerd did not start or import the image:\n"
                                    << containerd_->log();
  }

  Result ctr(const std::vector<std::string>& args, int timeout = 180) {
    return containerd_->ctr(args, timeout);
  }
  // ctr run --runtime io.containerd.kvrun.v2 [flags] IMAGE ID sh -c SCRIPT
  Result run(const std::vector<std::string>& flags, const std::string& id,
             const std::string& script) {
    std::vector<std::string> args = {"run", "--runtime", kRuntime};
    args.insert(args.end(), flags.begin(), flags.end());
    args.insert(args.end(), {containerd_->image, id, "sh", "-c", script});
    Result result = ctr(args);
    if (result.status == -1)
      ADD_FAILURE() << "ctr run " << id << " hung:\n" << containerd_->logs_of(id);
    return result;
  }
  std::string task_status(const std::string& id) {
    Result list = ctr({"tasks", "ls"});
    std::istringstream lines(list.out);
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream fields(line);
      std::string task, pid, status;
      fields >> task >> pid >> status;
      if (task == id) return status;
    }
    return "";
  }
  void remove(const std::string& id) {
    ctr({"tasks", "delete", id});
    ctr({"containers", "delete", id});
  }

  static Containerd* containerd_;
};
Containerd* KVRUN_TEST_SUITE::containerd_ = nullptr;

TEST_F(KVRUN_TEST_SUITE, RunRmGivesOutputAndExitCode) {
  Result r = run({"--rm"}, "rm1", "echo hello from kvrun; echo to-stderr >&2; exit 3");
  EXPECT_EQ(r.status, 3) << r.out << r.err;
  EXPECT_EQ(r.out, "hello from kvrun\n");
  EXPECT_NE(r.err.find("to-stderr"), std::string::npos) << r.err;
  containerd_->expect_nothing_left({"rm1"});
}

TEST_F(KVRUN_TEST_SUITE, DetachedTaskTakesExecPsAndKill) {
  ASSERT_EQ(run({"-d"}, "d1", "while :; do sleep 1; done").status, 0);
  EXPECT_EQ(task_status("d1"), "RUNNING");

  Result exec =
      ctr({"tasks", "exec", "--exec-id", "e1", "d1", "sh", "-c", "echo from exec; exit 4"});
  EXPECT_EQ(exec.status, 4) << exec.err;
  EXPECT_EQ(exec.out, "from exec\n");
  // ctr deleted the finished exec: its id may be used again.
  Result again = ctr({"tasks", "exec", "--exec-id", "e1", "d1", "sh", "-c", "exit 5"});
  EXPECT_EQ(again.status, 5) << again.err;

  // A signal to an exec reaches its process in the sandbox: the shell's trap runs and sets the
  // exit status (a signal that only ended a host-side helper would give 143).
  pid_t trapped = containerd_->spawn_ctr(
      {"tasks", "exec", "--exec-id", "e2", "d1", "sh", "-c",
       "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 1; done"},
      "exec-e2");
  ASSERT_TRUE(wait_until(
      [&] { return containerd_->spawned_output("exec-e2").find("ready") != std::string::npos; },
      60000));
  Result term = ctr({"tasks", "kill", "--exec-id", "e2", "-s", "SIGTERM", "d1"});
  EXPECT_EQ(term.status, 0) << term.err;
  EXPECT_EQ(wait_status(trapped), 7);
  EXPECT_NE(containerd_->spawned_output("exec-e2").find("got TERM"), std::string::npos);

  // ps: the task's PID (its monitor on the host) is listed.
  Result list = ctr({"tasks", "ls"});
  Result ps = ctr({"tasks", "ps", "d1"});
  ASSERT_EQ(ps.status, 0) << ps.err;
  std::istringstream fields(list.out.substr(list.out.find("d1")));
  std::string id, pid;
  fields >> id >> pid;
  EXPECT_NE(ps.out.find(pid), std::string::npos) << ps.out << " lacks " << pid;

  Result kill = ctr({"tasks", "kill", "-s", "SIGKILL", "d1"});
  EXPECT_EQ(kill.status, 0) << kill.err;
  EXPECT_TRUE(wait_until([&] { return task_status("d1") == "STOPPED"; }, 60000));
  // The exit status is the task's: 128 + SIGKILL (ctr reports it as a warning).
  Result deleted = ctr({"tasks", "delete", "d1"});
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  EXPECT_NE(deleted.err.find("exit code 137"), std::string::npos) << deleted.err;
  ctr({"containers", "delete", "d1"});
  containerd_->expect_nothing_left({"d1"});
}

TEST_F(KVRUN_TEST_SUITE, MetricsComeFromTheSandbox) {
  ASSERT_EQ(run({"-d"}, "m1", "while :; do sleep 1; done").status, 0);
  Result metrics = ctr({"tasks", "metrics", "m1"});
  if (std::string(KVRUN_TEST_SANDBOX) == "host" && metrics.out.empty() &&
      containerd_->log().find("has no cgroup") != std::string::npos) {
    // A host agent without a delegated cgroup has no figures; VMs always have them.
    ctr({"tasks", "kill", "-s", "SIGKILL", "m1"});
    wait_until([&] { return task_status("m1") == "STOPPED"; }, 60000);
    remove("m1");
    GTEST_SKIP() << "host sandbox without a cgroup";
  }
  EXPECT_EQ(metrics.status, 0) << metrics.err;
  EXPECT_NE(metrics.out.find("pids.current"), std::string::npos) << metrics.out;
  EXPECT_NE(metrics.out.find("memory.usage"), std::string::npos) << metrics.out;
  Result json = ctr({"tasks", "metrics", "--format", "json", "m1"});
  auto parsed = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(parsed.is_object()) << json.out;
  // ctr prints the decoded cgroups v2 Metrics itself. The shell and its sleep at least; the
  // agent counts the container's cgroup.
  ASSERT_TRUE(parsed.contains("pids") && parsed["pids"].is_object()) << json.out;
  ASSERT_TRUE(parsed.contains("memory") && parsed["memory"].is_object()) << json.out;
  EXPECT_GE(parsed["pids"].value("current", 0), 1) << json.out;
  EXPECT_GT(parsed["memory"].value("usage", 0), 0) << json.out;
  ctr({"tasks", "kill", "-s", "SIGKILL", "m1"});
  wait_until([&] { return task_status("m1") == "STOPPED"; }, 60000);
  remove("m1");
  containerd_->expect_nothing_left({"m1"});
}

TEST_F(KVRUN_TEST_SUITE, OomKillIsAnEventAndAnExit) {
  if (std::string(KVRUN_TEST_SANDBOX) == "host") {
    GTEST_SKIP() << "host agents here have no delegated cgroup to limit memory with";
  }
  pid_t watcher = containerd_->spawn_ctr({"events"}, "events");
  // tail buffers /dev/zero (one endless line) until the memory limit's OOM kill.
  Result r = run({"--rm", "--memory-limit", std::to_string(32 << 20)}, "oom1", "tail /dev/zero");
  EXPECT_EQ(r.status, 137) << r.out << r.err;
  EXPECT_TRUE(wait_until(
      [&] {
        std::string events = containerd_->spawned_output("events");
        return events.find("/tasks/oom") != std::string::npos &&
               events.find("oom1") != std::string::npos;
      },
      20000))
      << containerd_->spawned_output("events");
  ::kill(watcher, SIGTERM);
  wait_status(watcher);
  containerd_->expect_nothing_left({"oom1"});
}

// `ctr run -t` and `ctr task exec -t`: the process's terminal is a pty in the sandbox, sized as
// ctr's own terminal (ResizePty), and what is typed at ctr reaches it.
TEST_F(KVRUN_TEST_SUITE, TerminalsTakeInputAndTheirSize) {
  // The size arrives with ctr's resize after the start: wait for it, 30 s at most (busybox's
  // stty prints no size while it is 0x0).
  const std::string script =
      "tty; i=0; until [ -n \"$(stty size 2>/dev/null)\" ] || [ $i = 300 ]; do "
      "sleep 0.1; i=$((i + 1)); done; stty size; "
      "echo ready; read line; echo \"got $line\"; exit ";
  Result init = containerd_->ctr_in_terminal({"run", "--rm", "-t", "--runtime", kRuntime,
                                              containerd_->image, "t1", "sh", "-c", script + "3"},
                                             30, 100, "ready", "hello\n");
  EXPECT_EQ(init.status, 3) << init.out;
  EXPECT_NE(init.out.find("/dev/pts/"), std::string::npos) << init.out;
  EXPECT_NE(init.out.find("30 100"), std::string::npos) << init.out;
  EXPECT_NE(init.out.find("got hello"), std::string::npos) << init.out;

  ASSERT_EQ(run({"-d"}, "t2", "while :; do sleep 1; done").status, 0);
  Result exec = containerd_->ctr_in_terminal(
      {"tasks", "exec", "-t", "--exec-id", "x1", "t2", "sh", "-c", script + "4"}, 40, 120, "ready",
      "typed\n");
  EXPECT_EQ(exec.status, 4) << exec.out;
  EXPECT_NE(exec.out.find("40 120"), std::string::npos) << exec.out;
  EXPECT_NE(exec.out.find("got typed"), std::string::npos) << exec.out;
  ctr({"tasks", "kill", "-s", "SIGKILL", "t2"});
  EXPECT_TRUE(wait_until([&] { return task_status("t2") == "STOPPED"; }, 60000));
  remove("t2");
  containerd_->expect_nothing_left({"t1", "t2"});
}

// Twenty for host sandboxes; each VM boots a guest (seconds under nested KVM), so fewer there.
TEST_F(KVRUN_TEST_SUITE, ManyInARowLeaveNothing) {
  const int count = std::string(KVRUN_TEST_SANDBOX) == "vm" ? 3 : 20;
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    std::string id = "row" + std::to_string(i);
    ids.push_back(id);
    Result r = run({"--rm"}, id, "echo run " + std::to_string(i));
    ASSERT_EQ(r.status, 0) << id << ": " << r.err;
    EXPECT_EQ(r.out, "run " + std::to_string(i) + "\n");
  }
  containerd_->expect_nothing_left(ids);
}

// containerd's Update (CRI's UpdateContainerResources; ctr has no command for it), sent straight
// to the task's shim as containerd sends it: runtime-spec LinuxResources as JSON in an Any.
TEST_F(KVRUN_TEST_SUITE, UpdateReachesTheContainersCgroup) {
  ASSERT_EQ(run({"-d"}, "u1", "while :; do sleep 1; done").status, 0);
  auto shim = containerd::ttrpc::Client::connect(containerd::socket_path(
      containerd::shim_socket_address(containerd_->address, containerd_->ns, "u1")));
  auto update = [&](const std::string& json) {
    ::containerd::task::v2::UpdateTaskRequest request;
    request.set_id("u1");
    request.mutable_resources()->set_type_url(
        "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
    request.mutable_resources()->set_value(json);
    shim.call(containerd::kTaskService, "Update", request.SerializeAsString(),
              std::chrono::seconds(60));
  };
  auto refusal = [&](const std::string& json) -> std::string {
    try {
      update(json);
    } catch (const containerd::ttrpc::RpcError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_NE(refusal("not json").find("not a JSON object"), std::string::npos);
  if (std::string(KVRUN_TEST_SANDBOX) == "host") {
    // No cgroup controllers for a host agent here: a clear refusal.
    EXPECT_NE(refusal(R"({"pids": {"limit": 33}})").find("cgroup"), std::string::npos);
  } else {
    update(R"({"memory": {"limit": 50331648}, "pids": {"limit": 33}})");
    // The limits as the guest's cgroup has them (the agent reads memory.max and pids.max).
    Result metrics = ctr({"tasks", "metrics", "--format", "json", "u1"});
    auto parsed = nlohmann::json::parse(metrics.out, nullptr, false);
    ASSERT_TRUE(parsed.is_object()) << metrics.out << metrics.err;
    EXPECT_EQ(parsed["memory"].value("usage_limit", 0), 50331648) << metrics.out;
    EXPECT_EQ(parsed["pids"].value("limit", 0), 33) << metrics.out;
  }
  ctr({"tasks", "kill", "-s", "SIGKILL", "u1"});
  EXPECT_TRUE(wait_until([&] { return task_status("u1") == "STOPPED"; }, 60000));
  remove("u1");
  containerd_->expect_nothing_left({"u1"});
}

// A pod as containerd's CRI plugin makes one: the sandbox container, then containers carrying
// CRI's annotations with its id. They run in the sandbox's VM (or host agent), not their own.
TEST_F(KVRUN_TEST_SUITE, PodContainersRunInTheSandboxesVm) {
  auto cri = [](const std::string& type, const std::string& mode) {
    return std::vector<std::string>{mode, "--annotation",
                                    "io.kubernetes.cri.container-type=" + type, "--annotation",
                                    "io.kubernetes.cri.sandbox-id=pod1"};
  };
  Result sandbox = run(cri("sandbox", "-d"), "pod1", "while :; do sleep 1; done");
  ASSERT_EQ(sandbox.status, 0) << sandbox.err;
  Result app =
      run(cri("container", "-d"), "pod1-app", "echo app > /tmp/mine; while :; do sleep 1; done");
  ASSERT_EQ(app.status, 0) << app.err;

  std::ifstream in(containerd_->kvrun_state("pod1-app"));
  auto state = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state.value("pod_role", ""), "member") << state.dump();
  EXPECT_EQ(state.value("pod_sandbox", ""), "pod1") << state.dump();
  EXPECT_EQ(count_processes(containerd_->sandbox_executable()), 1u)
      << "one VMM (or host agent) for the pod:\n"
      << kvrun_processes();
  // One shim too: containerd was pointed at the sandbox's for the pod's container.
  EXPECT_EQ(count_processes(KVRUN_SHIM_PATH), 1u) << kvrun_processes();

  // One kernel under both, and each container in its own rootfs.
  auto in_task = [&](const std::string& id, const std::string& exec_id, const std::string& cmd) {
    Result r = ctr({"tasks", "exec", "--exec-id", exec_id, id, "sh", "-c", cmd});
    EXPECT_EQ(r.status, 0) << id << ": " << cmd << ": " << r.err;
    return r.out;
  };
  std::string boot_id = in_task("pod1", "b1", "cat /proc/sys/kernel/random/boot_id");
  EXPECT_FALSE(boot_id.empty());
  EXPECT_EQ(in_task("pod1-app", "b2", "cat /proc/sys/kernel/random/boot_id"), boot_id);
  EXPECT_EQ(in_task("pod1-app", "f1", "cat /tmp/mine"), "app\n");
  EXPECT_EQ(in_task("pod1", "f2", "cat /tmp/mine 2>/dev/null || echo none"), "none\n");

  // A second member through its own shim, run to its end.
  Result once =
      run(cri("container", "--rm"), "pod1-once", "cat /proc/sys/kernel/random/boot_id; exit 6");
  EXPECT_EQ(once.status, 6) << once.err;
  EXPECT_EQ(once.out, boot_id);

  // Members end before their sandbox, as the kubelet ends a pod.
  for (const std::string id : {"pod1-app", "pod1"}) {
    EXPECT_EQ(ctr({"tasks", "kill", "-s", "SIGKILL", id}).status, 0) << id;
    EXPECT_TRUE(wait_until([&] { return task_status(id) == "STOPPED"; }, 60000)) << id;
    remove(id);
  }
  containerd_->expect_nothing_left({"pod1", "pod1-app", "pod1-once"});
}

TEST_F(KVRUN_TEST_SUITE, KilledSandboxIsReportedAsAnExit) {
  pid_t ctr_run = containerd_->spawn_ctr({"run", "--rm", "--runtime", kRuntime, containerd_->image,
                                          "k1", "sh", "-c", "while :; do sleep 1; done"});
  ASSERT_TRUE(wait_until([&] { return task_status("k1") == "RUNNING"; }, 120000));
  // The VMM (or the host agent) dies behind everyone's back.
  std::ifstream in(containerd_->kvrun_state("k1"));
  auto state = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(state.is_object());
  pid_t vmm = state["vmm_pid"].get<pid_t>();
  ASSERT_GT(vmm, 1);
  ASSERT_EQ(::kill(vmm, SIGKILL), 0);
  EXPECT_EQ(wait_status(ctr_run), 137);
  containerd_->expect_nothing_left({"k1"});
}

}  // namespace
}  // namespace kvrun::e2e
