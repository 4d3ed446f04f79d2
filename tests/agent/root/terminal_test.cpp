// process.terminal: a pty opened inside the container, streamed as stdout (and fed from stdin),
// resizable with ResizePty.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class TerminalAsRoot : public ContainerAsRoot {};

nlohmann::json terminal_config(const std::vector<std::string>& args) {
  auto config = base_config(args);
  config["process"]["terminal"] = true;
  config["process"]["consoleSize"] = {{"height", 33}, {"width", 111}};
  return config;
}

TEST_F(TerminalAsRoot, InitGetsItsOwnPtyAsControllingTerminal) {
  AgentClient client(agent_->socket_path());
  auto created =
      create(client, "tty", terminal_config({"/bin/sh", "-c", "tty; stty size; echo err >&2"}));
  ASSERT_TRUE(created.ok) << created.error;
  UniqueFd out = attach(agent_->socket_path(), "tty", "", "stdout");
  EXPECT_THROW(attach(agent_->socket_path(), "tty", "", "stderr"), Error);
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "tty"}}).ok);
  // The container's own devpts: its first pty; the spec's size; stderr on the terminal too.
  EXPECT_EQ(read_all(out.get()), "/dev/pts/0\r\n33 111\r\nerr\r\n");
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "tty"}}).body["exit_status"], 0);
}

TEST_F(TerminalAsRoot, ExecWithATerminalReadsStdinAndResizes) {
  AgentClient client(agent_->socket_path());
  ASSERT_TRUE(create(client, "box", base_config({"sleep", "1000"})).ok);
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "box"}}).ok);
  auto exec = client.call(
      "ExecProcess",
      {{"container_id", "box"},
       {"exec_id", "sh"},
       {"process",
        {{"args", {"/bin/sh", "-c", "stty -echo; read line; stty size; echo got $line"}},
         {"terminal", true}}}});
  ASSERT_TRUE(exec.ok) << exec.error;
  auto resized = client.call(
      "ResizePty", {{"container_id", "box"}, {"exec_id", "sh"}, {"rows", 7}, {"cols", 9}});
  ASSERT_TRUE(resized.ok) << resized.error;
  UniqueFd out = attach(agent_->socket_path(), "box", "sh", "stdout");
  UniqueFd in = attach(agent_->socket_path(), "box", "sh", "stdin");
  // Let stty -echo take effect before typing, or the line may be echoed back.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(::send(in.get(), "hello\n", 6, MSG_NOSIGNAL), 6);
  std::string output = read_all(out.get());
  EXPECT_NE(output.find("7 9\r\ngot hello\r\n"), std::string::npos) << output;
  EXPECT_EQ(
      client.call("WaitProcess", {{"container_id", "box"}, {"exec_id", "sh"}}).body["exit_status"],
      0);
  auto no_tty = client.call("ResizePty", {{"container_id", "box"}, {"rows", 7}, {"cols", 9}});
  EXPECT_EQ(no_tty.error, "process box: has no terminal");
}

}  // namespace
}  // namespace kvrun::agent::test
