// ExecProcess, SignalProcess and RemoveContainer against a running container.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class ExecAsRoot : public ContainerAsRoot {
 protected:
  void SetUp() override {
    ContainerAsRoot::SetUp();
    if (HasFatalFailure()) return;
    client_ = std::make_unique<AgentClient>(agent_->socket_path());
    auto created = create(*client_, "box", base_config({"sleep", "1000"}));
    ASSERT_TRUE(created.ok) << created.error;
    ASSERT_TRUE(client_->call("StartContainer", {{"container_id", "box"}}).ok);
  }

  protocol::ReplyEnvelope exec(const std::string& exec_id, const std::vector<std::string>& args) {
    return client_->call("ExecProcess", {{"container_id", "box"},
                                         {"exec_id", exec_id},
                                         {"process", {{"args", args}, {"env", {"PATH=/bin"}}}}});
  }
  int wait(const std::string& exec_id) {
    auto reply = client_->call("WaitProcess", {{"container_id", "box"}, {"exec_id", exec_id}});
    EXPECT_TRUE(reply.ok) << reply.error;
    return reply.body.value("exit_status", -1);
  }

  std::unique_ptr<AgentClient> client_;
};

TEST_F(ExecAsRoot, JoinsTheContainersNamespaces) {
  auto reply = exec("e1", {"/bin/sh", "-c",
                           "hostname; cat /proc/1/comm; ls /bin/busybox; for p in /proc/[0-9]*; "
                           "do [ ${p#/proc/} -lt 10 ] || echo not ours: $p; done"});
  ASSERT_TRUE(reply.ok) << reply.error;
  UniqueFd out = attach(agent_->socket_path(), "box", "e1", "stdout");
  // pid 1 is the container's sleep; / is the rootfs; the host's processes (whose pids are far
  // above the handful this PID namespace has used) are invisible.
  EXPECT_EQ(read_all(out.get()), "kvrun-test\nsleep\n/bin/busybox\n");
  EXPECT_EQ(wait("e1"), 0);
}

TEST_F(ExecAsRoot, ExitStatusAndFailuresArePerProcess) {
  ASSERT_TRUE(exec("three", {"/bin/sh", "-c", "exit 3"}).ok);
  EXPECT_EQ(wait("three"), 3);
  auto missing = exec("missing", {"/bin/nope"});
  EXPECT_FALSE(missing.ok);
  EXPECT_EQ(missing.error, "exec /bin/nope: No such file or directory");
  // The id of a running process is taken; that of an exited one is free again.
  ASSERT_TRUE(exec("running", {"sleep", "1000"}).ok);
  auto duplicate = exec("running", {"true"});
  EXPECT_EQ(duplicate.error, "container box: process running already exists");
  auto reused = exec("three", {"/bin/sh", "-c", "exit 4"});
  ASSERT_TRUE(reused.ok) << reused.error;
  EXPECT_EQ(wait("three"), 4);
}

TEST_F(ExecAsRoot, StdinOfAnExecAndEachStreamAttachesOnce) {
  auto reply = client_->call("ExecProcess", {{"container_id", "box"},
                                             {"exec_id", "rev"},
                                             {"stdin", true},
                                             {"process", {{"args", {"tr", "a-z", "A-Z"}}}}});
  ASSERT_TRUE(reply.ok) << reply.error;
  UniqueFd in = attach(agent_->socket_path(), "box", "rev", "stdin");
  UniqueFd out = attach(agent_->socket_path(), "box", "rev", "stdout");
  EXPECT_THROW(attach(agent_->socket_path(), "box", "rev", "stdout"), Error);
  EXPECT_THROW(attach(agent_->socket_path(), "box", "", "stdin"), Error);  // init has no stdin
  std::string text = "shout\n";
  ASSERT_EQ(::send(in.get(), text.data(), text.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(text.size()));
  in.reset();
  EXPECT_EQ(read_all(out.get()), "SHOUT\n");
  EXPECT_EQ(wait("rev"), 0);
}

TEST_F(ExecAsRoot, SignalsReachTheRightProcess) {
  ASSERT_TRUE(exec("e1", {"sleep", "1000"}).ok);
  ASSERT_TRUE(
      client_->call("SignalProcess", {{"container_id", "box"}, {"exec_id", "e1"}, {"signal", 15}})
          .ok);
  EXPECT_EQ(wait("e1"), 143);
  // The init is untouched: it still accepts new processes.
  ASSERT_TRUE(exec("e2", {"true"}).ok);
  EXPECT_EQ(wait("e2"), 0);
  ASSERT_TRUE(client_->call("SignalProcess", {{"container_id", "box"}, {"signal", 9}}).ok);
  EXPECT_EQ(wait(""), 137);
  auto late = exec("e3", {"true"});
  EXPECT_EQ(late.error, "container box: not running");
  auto again = client_->call("SignalProcess", {{"container_id", "box"}, {"signal", 9}});
  EXPECT_EQ(again.error, "process box: has already exited");
}

TEST_F(ExecAsRoot, RemoveRefusesARunningContainerUnlessForced) {
  auto refused = client_->call("RemoveContainer", {{"container_id", "box"}});
  EXPECT_EQ(refused.error, "container box: still running (remove with force)");
  ASSERT_TRUE(exec("e1", {"sleep", "1000"}).ok);
  auto forced = client_->call("RemoveContainer", {{"container_id", "box"}, {"force", true}});
  EXPECT_TRUE(forced.ok) << forced.error;
  auto gone = client_->call("WaitProcess", {{"container_id", "box"}});
  EXPECT_EQ(gone.error, "container box: no such container");
}

}  // namespace
}  // namespace kvrun::agent::test
