#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "common/error.h"
#include "common/error_code.h"
#include "shim/state/process_identity.h"
#include "shim/state/state_dir.h"
#include "shim/state/transition.h"
#include "temp_dir.h"

namespace kvrun::state {
namespace {

ContainerState sample(const std::string& id) {
  ContainerState state;
  state.id = id;
  state.bundle = "/b";
  state.rootfs = "/b/rootfs";
  state.status = Status::kRunning;
  state.pid = ::getpid();
  state.pid_start_time = process_start_time(state.pid).value();
  state.created = now_rfc3339();
  state.annotations = {{"k", "v"}};
  state.sandbox = shim::SandboxKind::kVm;
  state.agent_address = "vsock:/run/kvrun/x/vsock.sock";
  return state;
}

TEST(StateDirTest, CreateOpenListRemove) {
  testing::TempDir root;
  StateDir states(root.path() / "state");
  EXPECT_THROW(states.open("a"), Error);
  try {
    states.open("a");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "container does not exist");
  }
  states.create("b");
  states.create("a");
  try {
    states.create("a");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "container with id a already exists");
  }
  EXPECT_EQ(states.list(), (std::vector<std::string>{"a", "b"}));
  states.remove("a");
  EXPECT_FALSE(states.exists("a"));
  EXPECT_EQ(states.list(), std::vector<std::string>{"b"});
}

TEST(StateDirTest, IdsThatAreNotPathComponentsAreRefused) {
  testing::TempDir root;
  StateDir states(root.path());
  for (const char* id : {"", "..", "../x", "a/b", ".hidden", "a b"}) {
    EXPECT_THROW(states.create(id), Error) << id;
  }
  EXPECT_TRUE(std::filesystem::is_empty(root.path()));
}

TEST(StateDirTest, StateRoundTripsAndIsReplacedAtomically) {
  testing::TempDir root;
  StateDir states(root.path());
  auto dir = states.create("c");
  ContainerState state = sample("c");
  state.exit_status = 3;
  save_state(dir, state);
  ContainerState loaded = load_state(dir);
  EXPECT_EQ(to_json(loaded), to_json(state));
  // Only state.json is left: the temporary file was renamed over it.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 1);
}

TEST(StateDirTest, DamagedStateIsAnError) {
  testing::TempDir root;
  StateDir states(root.path());
  auto dir = states.create("c");
  EXPECT_THROW(load_state(dir), Error);
  root.write("c/state.json", "{");
  EXPECT_THROW(load_state(dir), Error);
  auto json = to_json(sample("c"));
  json["status"] = "dancing";
  root.write("c/state.json", json.dump());
  EXPECT_THROW(load_state(dir), Error);
  json.erase("status");
  root.write("c/state.json", json.dump());
  EXPECT_THROW(load_state(dir), Error);
}

TEST(StateDirTest, SandboxKindAndPodRoleKeepTheirStrings) {
  auto state = sample("p");
  state.sandbox = shim::SandboxKind::kHost;
  state.pod_role = shim::PodRole::kMember;
  auto json = to_json(state);
  EXPECT_EQ(json["sandbox"], "host");
  EXPECT_EQ(json["pod_role"], "member");
  EXPECT_EQ(to_json(sample("q"))["pod_role"], "");
  json["pod_role"] = "sandbox";
  json["sandbox"] = "vm";
  auto loaded = from_json(json);
  EXPECT_EQ(loaded.pod_role, shim::PodRole::kSandbox);
  EXPECT_EQ(loaded.sandbox, shim::SandboxKind::kVm);
  json["pod_role"] = "leader";
  try {
    from_json(json);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("state.json: pod_role: ", 0), 0u) << e.what();
  }
  json["pod_role"] = "";
  json["sandbox"] = "container";
  EXPECT_THROW(from_json(json), Error);
}

TEST(StateDirTest, DeadMonitorMeansStopped) {
  testing::TempDir root;
  StateDir states(root.path());
  auto dir = states.create("c");
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  ContainerState state = sample("c");
  state.pid = child;
  // The child's start time may need a moment to appear in /proc.
  state.pid_start_time = process_start_time(child).value();
  save_state(dir, state);
  EXPECT_EQ(load_current_state(dir).status, Status::kRunning);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_EQ(load_current_state(dir).status, Status::kStopped);
}

TEST(StateDirTest, ReusedPidIsNotTrusted) {
  ContainerState state = sample("c");
  EXPECT_TRUE(process_alive(state.pid, state.pid_start_time));
  EXPECT_FALSE(process_alive(state.pid, state.pid_start_time + 1));
  EXPECT_FALSE(process_alive(0, 0));
}

TEST(StateDirTest, OciStateHasTheRuntimeSpecFields) {
  ContainerState state = sample("c");
  auto json = oci_state(state);
  EXPECT_EQ(json["ociVersion"], "1.0.2");
  EXPECT_EQ(json["id"], "c");
  EXPECT_EQ(json["status"], "running");
  EXPECT_EQ(json["pid"], ::getpid());
  EXPECT_EQ(json["bundle"], "/b");
  EXPECT_EQ(json["annotations"]["k"], "v");
  state.status = Status::kStopped;
  EXPECT_EQ(oci_state(state)["pid"], 0);
}

TEST(StateDirTest, LockExcludesASecondHolder) {
  testing::TempDir root;
  StateDir states(root.path());
  auto dir = states.create("c");
  std::atomic<bool> second_has_it{false};
  std::thread second;
  {
    ContainerLock lock(dir);
    second = std::thread([&] {
      ContainerLock other(dir);
      second_has_it = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(second_has_it);
  }
  second.join();
  EXPECT_TRUE(second_has_it);
}

TEST(StateDirTest, TimestampIsRfc3339WithNanoseconds) {
  std::string now = now_rfc3339();
  ASSERT_EQ(now.size(), 30u) << now;
  EXPECT_EQ(now[10], 'T');
  EXPECT_EQ(now[19], '.');
  EXPECT_EQ(now.back(), 'Z');
}

TEST(StateTransitionTest, LegalTransitions) {
  const std::pair<Status, Status> legal[] = {
      {Status::kCreating, Status::kCreated}, {Status::kCreated, Status::kRunning},
      {Status::kRunning, Status::kPaused},   {Status::kPaused, Status::kRunning},
      {Status::kCreating, Status::kStopped}, {Status::kCreated, Status::kStopped},
      {Status::kRunning, Status::kStopped},  {Status::kPaused, Status::kStopped},
      {Status::kStopped, Status::kStopped},
  };
  for (auto [from, to] : legal) {
    ContainerState state;
    state.status = from;
    transition(state, to);
    EXPECT_EQ(state.status, to) << to_string(from) << " -> " << to_string(to);
  }
}

TEST(StateTransitionTest, IllegalTransitionsAreRefusedAndLeaveTheStatus) {
  const std::pair<Status, Status> illegal[] = {
      {Status::kCreating, Status::kRunning},  {Status::kCreating, Status::kPaused},
      {Status::kCreating, Status::kCreating}, {Status::kCreated, Status::kCreating},
      {Status::kCreated, Status::kPaused},    {Status::kCreated, Status::kCreated},
      {Status::kRunning, Status::kCreated},   {Status::kRunning, Status::kRunning},
      {Status::kPaused, Status::kPaused},     {Status::kPaused, Status::kCreated},
      {Status::kStopped, Status::kRunning},   {Status::kStopped, Status::kCreated},
      {Status::kStopped, Status::kPaused},    {Status::kStopped, Status::kCreating},
  };
  for (auto [from, to] : illegal) {
    ContainerState state;
    state.status = from;
    EXPECT_FALSE(transition_allowed(from, to));
    try {
      transition(state, to);
      ADD_FAILURE() << to_string(from) << " -> " << to_string(to) << " allowed";
    } catch (const CodedError& e) {
      EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
      EXPECT_EQ(std::string(e.what()), "invalid state transition from " +
                                           std::string(to_string(from)) + " to " +
                                           std::string(to_string(to)));
    }
    EXPECT_EQ(state.status, from);
  }
}

}  // namespace
}  // namespace kvrun::state
