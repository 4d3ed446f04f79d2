#include <gtest/gtest.h>
#include <unistd.h>

#include "common/error.h"
#include "shim/runtime/agent.h"
#include "shim/runtime/container.h"
#include "shim/state/process_identity.h"
#include "shim/state/state_dir.h"
#include "temp_dir.h"

namespace kvrun::runtime {
namespace {

TEST(RuntimeContainerTest, FindsByRootAndId) {
  testing::TempDir root;
  state::StateDir states(root.path());
  EXPECT_THROW(find_container(root.path(), "a"), Error);
  state::ContainerState saved;
  saved.id = "a";
  saved.status = state::Status::kRunning;
  saved.pid = ::getpid();
  saved.pid_start_time = state::process_start_time(saved.pid).value();
  saved.created = state::now_rfc3339();
  saved.sandbox = shim::SandboxKind::kVm;
  state::save_state(states.create("a"), saved);
  auto found = find_container(root.path(), "a");
  EXPECT_EQ(found.dir, states.container_dir("a"));
  EXPECT_EQ(found.state.id, "a");
  EXPECT_EQ(found.state.status, state::Status::kRunning);
}

TEST(RuntimeContainerTest, MonitorGoneMeansStopped) {
  testing::TempDir root;
  state::StateDir states(root.path());
  state::ContainerState saved;
  saved.id = "b";
  saved.status = state::Status::kRunning;
  saved.pid = ::getpid();
  saved.pid_start_time = state::process_start_time(saved.pid).value() + 1;  // a reused PID
  saved.created = state::now_rfc3339();
  state::save_state(states.create("b"), saved);
  EXPECT_EQ(find_container(root.path(), "b").state.status, state::Status::kStopped);
}

TEST(RuntimeAgentTest, NoAddressYetIsRefusedByName) {
  state::ContainerState creating;
  creating.id = "c";
  try {
    connect_to_agent(creating);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "container c has no sandbox yet");
  }
  EXPECT_THROW(agent_client(creating, std::chrono::seconds(1), std::chrono::seconds(1)), Error);
}

}  // namespace
}  // namespace kvrun::runtime
