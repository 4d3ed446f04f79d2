// kvrun-agent as the guest's PID 1 on kvrun-vmm (label linux). Each test boots the agent's test
// initramfs with kvrun.test=<script>; the script (tests/vm/agent/*.sh) drives the agent over its
// in-guest unix socket and its status becomes the VMM's.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "protocol/client.h"
#include "protocol/connect.h"
#include "protocol/framing.h"
#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

class AgentInVm : public ::testing::Test {
 protected:
  void SetUp() override { KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel_); }

  ChildProcess boot(const std::string& test) const {
    return run_vmm({"--kernel", kernel_, "--initrd", KVRUN_AGENT_VM_INITRAMFS, "--cmdline",
                    "console=ttyS0 reboot=k kvrun.test=" + test, "--memory", "256", "--cpus", "2",
                    "--timeout", "150"},
                   200s);
  }

  std::string kernel_;
};

TEST_F(AgentInVm, DoesPid1DutiesAndPowersOffOnSigterm) {
  ChildProcess vm = boot("pid1");
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: pid1 checks passed"));
  EXPECT_TRUE(stdout_has(vm, "kvrun-init: powering off"));
  EXPECT_FALSE(stdout_has(vm, "kvrun-agent: fatal"));
}

TEST_F(AgentInVm, ForkBombStopsAtPidsMax) {
  ChildProcess vm = boot("pids_limit");
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: finish 0"));
}

TEST_F(AgentInVm, MemoryHogIsOomKilledAndReportedWhileOthersLiveOn) {
  ChildProcess vm = boot("oom");
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "hog: exit 137, OOM event, oom_kill="));
}

// blockIO.weight and memory.swap reach io.weight and memory.swap.max (our kernel has both).
TEST_F(AgentInVm, IoWeightAndSwapReachTheCgroup) {
  ChildProcess vm = boot("io_swap");
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: io and swap checks passed"));
}

TEST_F(AgentInVm, StatsLimitsAndFreezeUseTheCgroup) {
  ChildProcess vm = boot("stats_freeze");
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test: finish 0"));
}

}  // namespace
}  // namespace kvrun::test

namespace kvrun::test {
namespace {

// The way the shim reaches the agent: kvrun-vmm's vsock device, its unix socket and the CONNECT
// handshake, into the production initramfs (the agent is /init, nothing else).
TEST_F(AgentInVm, HostTalksToTheAgentOverVsockAndMalformedMessagesGetErrors) {
  char dir_template[] = "/tmp/kvrun-agent-vsock.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string uds = dir + "/vsock.sock";
  ChildProcess vm =
      ChildProcess::spawn({vmm_path(), "--kernel", kernel_, "--initrd", initramfs_path(),
                           "--cmdline", "console=ttyS0 reboot=k", "--memory", "256", "--vsock",
                           "cid=3,uds=" + uds, "--timeout", "200"});
  ASSERT_TRUE(vm.wait_for_stdout("kvrun-init: ready", 200s)) << transcript(vm);

  protocol::Client client(protocol::connect_agent("vsock-uds:" + uds));
  EXPECT_EQ(client.call(protocol::Ping{}).version, protocol::kProtocolVersion);
  // Malformed JSON and an unknown type get error replies; the connection keeps serving.
  protocol::write_frame(client.fd(), "{not json");
  auto reply = protocol::decode_reply(protocol::read_frame(client.fd()).value());
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.id, 0u);
  protocol::write_frame(client.fd(), R"({"version":2,"id":9,"type":"Explode","body":{}})");
  reply = protocol::decode_reply(protocol::read_frame(client.fd()).value());
  EXPECT_EQ(reply.error, "type: unknown request type \"Explode\"");
  EXPECT_EQ(reply.id, 9u);
  // An oversized frame closes only its own connection.
  {
    UniqueFd other = protocol::connect_agent("vsock-uds:" + uds);
    const unsigned char huge[4] = {0xff, 0xff, 0xff, 0xff};
    ASSERT_EQ(::write(other.get(), huge, 4), 4);
    reply = protocol::decode_reply(protocol::read_frame(other.get()).value());
    EXPECT_FALSE(reply.ok);
    EXPECT_FALSE(protocol::read_frame(other.get()).has_value());
  }
  EXPECT_EQ(client.call(protocol::Ping{}).version, protocol::kProtocolVersion);
  try {
    client.call(protocol::StartContainer{"nope"});
    ADD_FAILURE() << "StartContainer of no container succeeded";
  } catch (const protocol::AgentError& e) {
    EXPECT_STREQ(e.what(), "StartContainer: container nope: no such container");
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }

  vm.send_signal(SIGKILL);
  vm.wait(10s);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvrun::test

namespace kvrun::test {
namespace {

// ListProcesses shows guest pids and argv; DestroySandbox, sent the way the shim sends it, kills
// every container and the VM exits 0 once the client has the reply and has closed.
TEST_F(AgentInVm, HostListsProcessesThenDestroysTheSandboxAndTheVmExitsZero) {
  char dir_template[] = "/tmp/kvrun-agent-destroy.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  std::string uds = dir + "/vsock.sock";
  ChildProcess vm = ChildProcess::spawn(
      {vmm_path(), "--kernel", kernel_, "--initrd", KVRUN_AGENT_VM_INITRAMFS, "--cmdline",
       "console=ttyS0 reboot=k kvrun.test=destroy", "--memory", "256", "--cpus", "2", "--vsock",
       "cid=3,uds=" + uds, "--timeout", "150"});
  ASSERT_TRUE(vm.wait_for_stdout("kvrun-test: containers up", 150s)) << transcript(vm);
  {
    protocol::Client client(protocol::connect_agent("vsock-uds:" + uds));
    auto processes = client.call(protocol::ListProcesses{"box"}).processes;
    std::map<std::string, protocol::ProcessInfo> by_argv;
    std::string listed;
    for (const auto& p : processes) {
      std::string argv = nlohmann::json(p.args).dump();
      listed += argv + " ";
      by_argv[argv] = p;
    }
    ASSERT_EQ(processes.size(), 3u) << listed;
    ASSERT_TRUE(by_argv.contains(R"(["sleep","1001"])")) << listed;
    EXPECT_EQ(by_argv[R"(["sleep","1002"])"].exec_id, "");
    EXPECT_EQ(by_argv[R"(["sleep","1004"])"].exec_id, "e");
    EXPECT_EQ(by_argv[R"(["sleep","1001"])"].exec_id, std::nullopt) << listed;
    // Guest pids: small numbers in the guest's PID namespace, not this host's.
    EXPECT_LT(by_argv[R"(["sleep","1001"])"].pid, 10000);
    EXPECT_NO_THROW(client.call(protocol::DestroySandbox{}));
  }
  vm.wait(60s);
  EXPECT_TRUE(exited_with(vm, 0));
  EXPECT_TRUE(stdout_has(vm, "sandbox destroyed (2 container(s) removed)"));
  EXPECT_TRUE(stdout_has(vm, "kvrun-init: powering off"));
  EXPECT_FALSE(stdout_has(vm, "kvrun-test: FAILED"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvrun::test
