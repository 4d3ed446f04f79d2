// Pause/Resume (cgroup.freeze) and Stats against this host's cgroup2 mount, which has no
// controllers: the agent still gives each container a cgroup, so freezing and CPU accounting
// work; memory and pids numbers need the guest (tests/vm/agent).
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <fstream>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class CgroupAsRoot : public ContainerAsRoot {};

// Bytes that arrive on fd within `window`.
std::size_t bytes_within(int fd, std::chrono::milliseconds window) {
  std::size_t total = 0;
  auto deadline = std::chrono::steady_clock::now() + window;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return total;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return total;
    total += static_cast<std::size_t>(n);
  }
}

TEST_F(CgroupAsRoot, PauseStopsEveryProcessAndResumeContinues) {
  AgentClient client(agent_->socket_path());
  ASSERT_TRUE(create(client, "ticker",
                     base_config({"/bin/sh", "-c", "while :; do echo tick; usleep 10000; done"}))
                  .ok);
  UniqueFd out = attach(agent_->socket_path(), "ticker", "", "stdout");
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "ticker"}}).ok);
  EXPECT_GT(bytes_within(out.get(), std::chrono::milliseconds(300)), 0u);

  auto paused = client.call("PauseContainer", {{"container_id", "ticker"}});
  ASSERT_TRUE(paused.ok) << paused.error;
  bytes_within(out.get(), std::chrono::milliseconds(100));  // what was already in the pipe
  EXPECT_EQ(bytes_within(out.get(), std::chrono::milliseconds(400)), 0u);
  auto exec = client.call(
      "ExecProcess",
      {{"container_id", "ticker"}, {"exec_id", "e"}, {"process", {{"args", {"true"}}}}});
  EXPECT_EQ(exec.error, "container ticker: paused");
  EXPECT_EQ(client.call("PauseContainer", {{"container_id", "ticker"}}).error,
            "container ticker: not running");

  ASSERT_TRUE(client.call("ResumeContainer", {{"container_id", "ticker"}}).ok);
  EXPECT_GT(bytes_within(out.get(), std::chrono::milliseconds(400)), 0u);
  EXPECT_EQ(client.call("ResumeContainer", {{"container_id", "ticker"}}).error,
            "container ticker: not paused");
  // A paused container can be removed with force.
  ASSERT_TRUE(client.call("PauseContainer", {{"container_id", "ticker"}}).ok);
  auto removed = client.call("RemoveContainer", {{"container_id", "ticker"}, {"force", true}});
  EXPECT_TRUE(removed.ok) << removed.error;
  EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/unified/kvrun/ticker"));
}

TEST_F(CgroupAsRoot, StatsReportCpuTimeFromTheContainersCgroup) {
  AgentClient client(agent_->socket_path());
  ASSERT_TRUE(create(client, "busy",
                     base_config({"/bin/sh", "-c",
                                  "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); "
                                  "done; sleep 1000"}))
                  .ok);
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "busy"}}).ok);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto stats = client.call("StatsContainer", {{"container_id", "busy"}});
  ASSERT_TRUE(stats.ok) << stats.error;
  ASSERT_TRUE(stats.body["cpu"]["usage_usec"].is_number()) << stats.body.dump();
  EXPECT_GT(stats.body["cpu"]["usage_usec"].get<std::uint64_t>(), 1000u) << stats.body.dump();
  // No memory controller on this host: unknown, not zero.
  EXPECT_TRUE(stats.body["memory"]["current"].is_null()) << stats.body.dump();
  EXPECT_EQ(client.call("StatsContainer", {{"container_id", "nope"}}).error,
            "container nope: no such container");
}

}  // namespace
}  // namespace kvrun::agent::test
