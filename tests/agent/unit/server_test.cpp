// The agent binary over a real unix socket: bad input gets an error reply naming the problem
// and never stops the agent from serving. No containers, so no root needed.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "agent_harness.h"
#include "protocol/framing.h"

namespace kvrun::agent::test {
namespace {

class AgentServer : public ::testing::Test {
 protected:
  TempDir dir_;
  AgentProcess agent_{dir_.path()};

  void expect_still_serving() {
    AgentClient client(agent_.socket_path());
    auto reply = client.call("Ping");
    ASSERT_TRUE(reply.ok) << reply.error;
    EXPECT_EQ(reply.body["version"], protocol::kProtocolVersion);
  }
};

TEST_F(AgentServer, PingReportsTheProtocolVersion) { expect_still_serving(); }

TEST_F(AgentServer, MalformedJsonGetsAnErrorAndTheConnectionKeepsWorking) {
  AgentClient client(agent_.socket_path());
  auto reply = client.call_raw("{\"version\": 1, \"id\": ");
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.id, 0u);
  EXPECT_EQ(reply.error, "request: malformed JSON at byte 21");
  auto ping = client.call("Ping");
  EXPECT_TRUE(ping.ok);
}

TEST_F(AgentServer, DecodeErrorsNameTheField) {
  AgentClient client(agent_.socket_path());
  auto unknown = client.call("Reboot");
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.id, 1u);
  EXPECT_EQ(unknown.error, "type: unknown request type \"Reboot\"");
  auto wrong_type = client.call("WaitProcess", {{"container_id", 12}});
  EXPECT_EQ(wrong_type.error, "body.container_id: expected a string");
  auto missing = client.call("SignalProcess", {{"container_id", "c"}});
  EXPECT_EQ(missing.error, "body.signal: required field is missing");
  auto no_such = client.call("StartContainer", {{"container_id", "nope"}});
  EXPECT_EQ(no_such.error, "container nope: no such container");
  auto bad_config = client.call(
      "CreateContainer", {{"container_id", "c"}, {"config", {{"process", 1}}}, {"rootfs", "/"}});
  EXPECT_EQ(bad_config.error, "config.process: expected an object");
  EXPECT_TRUE(client.call("Ping").ok);
}

TEST_F(AgentServer, OversizedFrameGetsAnErrorThenTheConnectionCloses) {
  AgentClient client(agent_.socket_path());
  client.send_bytes(std::string("\x7f\xff\xff\xff", 4));  // 2 GiB announced
  auto reply = client.read_reply();
  EXPECT_FALSE(reply.ok);
  EXPECT_EQ(reply.error, "frame of 2147483647 bytes exceeds the maximum of 4194304");
  EXPECT_EQ(protocol::read_frame(client.fd()), std::nullopt);  // closed
  expect_still_serving();
}

TEST_F(AgentServer, AttachStdioMustComeFirstAndNameAProcess) {
  AgentClient client(agent_.socket_path());
  EXPECT_TRUE(client.call("Ping").ok);
  auto late = client.call("AttachStdio", {{"container_id", "c"}, {"stream", "stdout"}});
  EXPECT_EQ(late.error, "AttachStdio must be the first message on its own connection");
  EXPECT_THROW(attach(agent_.socket_path(), "c", "", "stdout"), Error);
  expect_still_serving();
}

TEST_F(AgentServer, ManyAbruptDisconnectsAreHarmless) {
  for (int i = 0; i < 50; ++i) {
    UniqueFd fd = connect_unix(agent_.socket_path());
    std::string partial = protocol::encode_frame("{\"version\":1}").substr(0, 7);
    ::send(fd.get(), partial.data(), partial.size(), MSG_NOSIGNAL);
  }
  expect_still_serving();
}

}  // namespace
}  // namespace kvrun::agent::test
