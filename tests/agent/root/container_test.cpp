// Real containers through the real kvrun-agent binary over its unix socket, in a busybox rootfs.
// Needs root (namespaces, mounts, pivot_root): fails loudly without it.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <memory>
#include <set>
#include <sstream>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

TEST_F(ContainerAsRoot, ExitCodePropagates) {
  auto result = run_args("exit7", {"/bin/sh", "-c", "echo out; echo err >&2; exit 7"});
  EXPECT_EQ(result.exit_status, 7);
  EXPECT_EQ(result.out, "out\n");
  EXPECT_EQ(result.err, "err\n");
}

TEST_F(ContainerAsRoot, KilledBySigkillIs137) {
  AgentClient client(agent_->socket_path());
  ASSERT_TRUE(create(client, "killed", base_config({"sleep", "1000"})).ok);
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "killed"}}).ok);
  auto signal = client.call("SignalProcess", {{"container_id", "killed"}, {"signal", 9}});
  ASSERT_TRUE(signal.ok) << signal.error;
  auto waited = client.call("WaitProcess", {{"container_id", "killed"}});
  ASSERT_TRUE(waited.ok) << waited.error;
  EXPECT_EQ(waited.body["exit_status"], 137);
  EXPECT_TRUE(client.call("RemoveContainer", {{"container_id", "killed"}}).ok);
}

TEST_F(ContainerAsRoot, SeesOnlyItsOwnProcesses) {
  auto result = run_args("pids", {"/bin/sh", "-c", "echo pid=$$; ls /proc | grep -E '^[0-9]+$'"});
  EXPECT_EQ(result.exit_status, 0) << result.err;
  std::istringstream lines(result.out);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "pid=1");
  std::set<std::string> pids;
  while (std::getline(lines, line)) pids.insert(line);
  // The shell (1) and the pipeline's ls and grep; nothing of the host.
  for (const auto& pid : pids) EXPECT_LE(std::stoi(pid), 3) << result.out;
  EXPECT_TRUE(pids.contains("1"));
}

TEST_F(ContainerAsRoot, HasItsOwnHostname) {
  auto result = run_args("uts", {"hostname"});
  EXPECT_EQ(result.out, "kvrun-test\n");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_NE(std::string(host), "kvrun-test");
}

TEST_F(ContainerAsRoot, HasItsOwnMountTable) {
  auto result = run_args("mnt", {"/bin/sh", "-c", "cut -d' ' -f5 /proc/self/mountinfo | sort"});
  ASSERT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out,
            "/\n/dev\n/dev/full\n/dev/null\n/dev/pts\n/dev/random\n/dev/tty\n/dev/urandom\n"
            "/dev/zero\n/proc\n/sys\n/tmp\n");
}

TEST_F(ContainerAsRoot, ExecFailureIsAClearError) {
  AgentClient client(agent_->socket_path());
  ASSERT_TRUE(create(client, "noexec", base_config({"/bin/nonexistent"})).ok);
  auto started = client.call("StartContainer", {{"container_id", "noexec"}});
  EXPECT_FALSE(started.ok);
  EXPECT_EQ(started.error, "exec /bin/nonexistent: No such file or directory");
  auto waited = client.call("WaitProcess", {{"container_id", "noexec"}});
  EXPECT_EQ(waited.body["exit_status"], 127);

  ASSERT_TRUE(create(client, "nopath", base_config({"nonexistent"})).ok);
  started = client.call("StartContainer", {{"container_id", "nopath"}});
  EXPECT_EQ(started.error, "exec nonexistent: executable file not found in $PATH");
}

TEST_F(ContainerAsRoot, SetupFailureIsAClearErrorAndLeavesNothingBehind) {
  AgentClient client(agent_->socket_path());
  auto config = base_config({"true"});
  config["mounts"].push_back({{"destination", "/data"},
                              {"type", "bind"},
                              {"source", "/does/not/exist"},
                              {"options", {"bind"}}});
  auto created = create(client, "badmount", config);
  EXPECT_FALSE(created.ok);
  EXPECT_EQ(created.error, "bind source /does/not/exist: No such file or directory");
  auto again = create(client, "badmount", base_config({"true"}));
  EXPECT_TRUE(again.ok) << again.error;
}

TEST_F(ContainerAsRoot, StdinReachesTheProcessAndEofEndsIt) {
  AgentClient client(agent_->socket_path());
  ASSERT_TRUE(create(client, "cat", base_config({"cat"}), true).ok);
  UniqueFd in = attach(agent_->socket_path(), "cat", "", "stdin");
  UniqueFd out = attach(agent_->socket_path(), "cat", "", "stdout");
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "cat"}}).ok);
  std::string text = "hello through the agent\n";
  ASSERT_EQ(::send(in.get(), text.data(), text.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(text.size()));
  ::shutdown(in.get(), SHUT_WR);
  EXPECT_EQ(read_all(out.get()), text);
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "cat"}}).body["exit_status"], 0);
}

// Deterministic output so the test knows what must arrive: "0123456789abcdef" repeated.
TEST_F(ContainerAsRoot, HundredMegabytesOfStdoutArriveIntact) {
  constexpr std::size_t kSize = 100 * 1024 * 1024;
  AgentClient client(agent_->socket_path());
  ASSERT_TRUE(create(client, "big",
                     base_config({"/bin/sh", "-c", "yes 0123456789abcde | head -c 104857600"}))
                  .ok);
  UniqueFd out = attach(agent_->socket_path(), "big", "", "stdout");
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "big"}}).ok);
  // The control connection stays responsive while the stream flows.
  EXPECT_TRUE(client.call("Ping").ok);
  std::uint64_t hash = 1469598103934665603ull, expected = hash, total = 0;
  const std::string pattern = "0123456789abcde\n";
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(out.get(), buffer, sizeof buffer);
    ASSERT_GE(n, 0);
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i)
      hash = (hash ^ static_cast<unsigned char>(buffer[i])) * 1099511628211ull;
    total += static_cast<std::uint64_t>(n);
  }
  for (std::size_t i = 0; i < kSize; ++i) {
    expected =
        (expected ^ static_cast<unsigned char>(pattern[i % pattern.size()])) * 1099511628211ull;
  }
  EXPECT_EQ(total, kSize);
  EXPECT_EQ(hash, expected);
  EXPECT_EQ(client.call("WaitProcess", {{"container_id", "big"}}).body["exit_status"], 0);
}

}  // namespace
}  // namespace kvrun::agent::test
