// OCI hooks through the real kvrun CLI (host sandbox) and, on the same bundle, real runc: every
// hook appends its name and the state it read on stdin to one log, so order, status and pid can
// be compared. Where kvrun differs from runc on purpose (docs/oci-conformance.md) the difference
// is asserted, so it cannot change unnoticed.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "cli_fixture.h"
#include "tests/support/child_process.h"

namespace kvrun::e2e {
namespace {

using nlohmann::json;

struct Entry {
  std::string name;
  json state;
};

class HooksTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    log_ = rootfs_ / "hooks.log";
    // hook.sh NAME LOG [STATUS]. Busybox's sh runs it inside the container as well (the
    // startContainer hook's path resolves in the container's root, where the rootfs has a copy).
    const std::string script =
        "#!/bin/sh\n"
        "state=$(cat)\n"
        "echo \"$1 $state\" >> \"$2\"\n"
        "if [ -n \"$3\" ]; then echo \"$1 failed on purpose\" >&2; exit \"$3\"; fi\n";
    for (const auto& path : {scratch_ / "hook.sh", rootfs_ / "hook.sh"}) {
      std::ofstream(path) << script;
      std::filesystem::permissions(path, std::filesystem::perms::owner_all);
    }
  }

  json hook(const std::string& name, const std::string& status = "") const {
    json args = {"hook.sh", name, log_.string()};
    if (!status.empty()) args.push_back(status);
    return {{"path", (scratch_ / "hook.sh").string()}, {"args", args}};
  }
  // The container's own view: its path and its log are inside its root.
  json container_hook(const std::string& name) const {
    return {{"path", "/hook.sh"}, {"args", {"hook.sh", name, "/hooks.log"}}};
  }

  json all_hooks() const {
    return {{"prestart", {hook("prestart")}},
            {"createRuntime", {hook("createRuntime")}},
            {"createContainer", {hook("createContainer")}},
            {"startContainer", {container_hook("startContainer")}},
            {"poststart", {hook("poststart")}},
            {"poststop", {hook("poststop")}}};
  }

  std::filesystem::path hooks_bundle(const json& hooks, const std::string& script = "exit 0") {
    return bundle("bundle", script, {{"hooks", hooks}, {"annotations", {{"test", "hooks"}}}});
  }

  std::vector<Entry> read_log() const {
    std::vector<Entry> entries;
    std::ifstream in(log_);
    std::string line;
    while (std::getline(in, line)) {
      auto space = line.find(' ');
      json state = json::parse(line.substr(space + 1), nullptr, false);
      EXPECT_FALSE(state.is_discarded()) << line;
      entries.push_back({line.substr(0, space), state});
    }
    return entries;
  }
  static std::vector<std::string> names(const std::vector<Entry>& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e.name);
    return out;
  }

  Result runc(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {runc_path(), "--root", (scratch_ / "runc").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = test::ChildProcess::spawn(argv);
    child.close_stdin();
    child.wait(std::chrono::seconds(30));
    return {child.status()->shell_status(), child.stdout_text(), child.stderr_text()};
  }
  // The reference runtime, where Debian puts it; "" when there is none.
  static std::string runc_path() {
    for (const char* path : {"/usr/sbin/runc", "/usr/bin/runc"})
      if (::access(path, X_OK) == 0) return path;
    return "";
  }
  static bool have_runc() { return !runc_path().empty(); }

  bool wait_stopped(const std::function<json()>& state) {
    return wait_until([&] { return state().value("status", "") == "stopped"; }, 10000);
  }

  std::filesystem::path log_;
};

TEST_F(HooksTest, RunInTheSpecsOrderWithTheStateOnStdinAsRuncDoes) {
  auto dir = hooks_bundle(all_hooks());
  ASSERT_EQ(kvrun({"create", "--bundle", dir.string(), "h1"}).status, 0);
  json created = state("h1");
  EXPECT_EQ(created["status"], "created");
  auto log = read_log();
  ASSERT_EQ(names(log), (std::vector<std::string>{"prestart", "createRuntime", "createContainer"}));
  for (const auto& entry : log) {
    EXPECT_EQ(entry.state["ociVersion"], "1.0.2");
    EXPECT_EQ(entry.state["id"], "h1");
    EXPECT_EQ(entry.state["status"], "creating") << entry.name;
    // The same pid `kvrun state` gives (the monitor's); createContainer too, as it runs on the
    // host here (runc: pid 1, from inside the container).
    EXPECT_EQ(entry.state["pid"], created["pid"]) << entry.name;
    EXPECT_EQ(entry.state["bundle"], dir.string());
    EXPECT_EQ(entry.state["annotations"], json({{"test", "hooks"}}));
  }
  Result start = kvrun({"start", "h1"});
  ASSERT_EQ(start.status, 0) << start.err;
  ASSERT_TRUE(wait_stopped([&] { return state("h1"); }));
  ASSERT_EQ(kvrun({"delete", "h1"}).status, 0);
  log = read_log();
  ASSERT_EQ(names(log), (std::vector<std::string>{"prestart", "createRuntime", "createContainer",
                                                  "startContainer", "poststart", "poststop"}));
  // startContainer ran inside the container: its path and log are the container's, its pid is
  // the container init's in its own PID namespace, and it was created.
  EXPECT_EQ(log[3].state["status"], "created");
  EXPECT_EQ(log[3].state["pid"], 1);
  EXPECT_EQ(log[3].state["bundle"], dir.string());
  EXPECT_EQ(log[3].state["annotations"], json({{"test", "hooks"}}));
  EXPECT_EQ(log[4].state["status"], "running");
  EXPECT_EQ(log[4].state["pid"], created["pid"]);
  EXPECT_EQ(log[5].state["status"], "stopped");
  EXPECT_FALSE(log[5].state.contains("pid"));
  expect_nothing_left();

  if (!have_runc()) GTEST_SKIP() << "no runc to compare with";
  std::filesystem::remove(log_);
  ASSERT_EQ(runc({"create", "--bundle", dir.string(), "h1"}).status, 0);
  json runc_created = json::parse(runc({"state", "h1"}).out);
  auto runc_log = read_log();
  // runc runs poststart at the end of create, before the process runs, with status "created";
  // kvrun runs it after start, when the process runs, as the spec's lifecycle has it.
  ASSERT_EQ(names(runc_log), (std::vector<std::string>{"prestart", "createRuntime",
                                                       "createContainer", "poststart"}));
  EXPECT_EQ(runc_log[0].state["status"], "creating");
  EXPECT_EQ(runc_log[0].state["pid"], runc_created["pid"]);
  EXPECT_EQ(runc_log[1].state["status"], "creating");
  EXPECT_EQ(runc_log[2].state["status"], "creating");
  EXPECT_EQ(runc_log[2].state["pid"], 1);  // runc: createContainer in the container
  EXPECT_EQ(runc_log[3].state["status"], "created");
  ASSERT_EQ(runc({"start", "h1"}).status, 0);
  ASSERT_TRUE(wait_stopped([&] { return json::parse(runc({"state", "h1"}).out); }));
  ASSERT_EQ(runc({"delete", "h1"}).status, 0);
  runc_log = read_log();
  ASSERT_EQ(names(runc_log),
            (std::vector<std::string>{"prestart", "createRuntime", "createContainer", "poststart",
                                      "startContainer", "poststop"}));
  // startContainer and poststop see what they see in kvrun.
  EXPECT_EQ(runc_log[4].state["status"], log[3].state["status"]);
  EXPECT_EQ(runc_log[4].state["pid"], log[3].state["pid"]);
  EXPECT_EQ(runc_log[5].state["status"], log[5].state["status"]);
  EXPECT_EQ(runc_log[5].state.contains("pid"), log[5].state.contains("pid"));
  EXPECT_EQ(runc_log[5].state["annotations"], log[5].state["annotations"]);
}

TEST_F(HooksTest, AFailingCreateRuntimeFailsCreateAndLeavesNothingButRunsPoststop) {
  json hooks = all_hooks();
  hooks["createRuntime"] = {hook("createRuntime", "7")};
  auto dir = hooks_bundle(hooks);
  Result create = kvrun({"create", "--bundle", dir.string(), "h2"});
  EXPECT_NE(create.status, 0);
  EXPECT_NE(create.err.find("createRuntime hook #0 " + (scratch_ / "hook.sh").string() +
                            ": exit status 7; stderr: createRuntime failed on purpose"),
            std::string::npos)
      << create.err;
  expect_nothing_left();
  auto log = read_log();
  ASSERT_EQ(names(log), (std::vector<std::string>{"prestart", "createRuntime", "poststop"}));
  EXPECT_EQ(log[2].state["status"], "stopped");
  EXPECT_EQ(log[2].state["id"], "h2");
  EXPECT_NE(kvrun({"state", "h2"}).status, 0);

  if (!have_runc()) GTEST_SKIP() << "no runc to compare with";
  std::filesystem::remove(log_);
  Result runc_create = runc({"create", "--bundle", dir.string(), "h2"});
  EXPECT_NE(runc_create.status, 0);
  EXPECT_NE(runc_create.err.find("createRuntime failed on purpose"), std::string::npos);
  EXPECT_EQ(names(read_log()), names(log));
  EXPECT_NE(runc({"state", "h2"}).status, 0);
}

TEST_F(HooksTest, AHookPastItsTimeoutIsKilledAndCreateFails) {
  auto pid_file = scratch_ / "hook.pid";
  json hooks = {{"createRuntime",
                 {{{"path", "/bin/sh"},
                   {"args", {"sh", "-c", "echo $$ > " + pid_file.string() + "; exec sleep 100"}},
                   {"timeout", 1}}}}};
  auto dir = hooks_bundle(hooks);
  auto started = std::chrono::steady_clock::now();
  Result create = kvrun({"create", "--bundle", dir.string(), "h3"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_NE(create.status, 0);
  EXPECT_NE(create.err.find("createRuntime hook #0 /bin/sh: did not finish within its timeout "
                            "of 1 s (killed)"),
            std::string::npos)
      << create.err;
  std::ifstream in(pid_file);
  pid_t pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(process_exists(pid)) << "the hook outlived its timeout";
  expect_nothing_left();

  if (!have_runc()) GTEST_SKIP() << "no runc to compare with";
  Result runc_create = runc({"create", "--bundle", dir.string(), "h3"});
  EXPECT_NE(runc_create.status, 0);
  EXPECT_NE(runc_create.err.find("timeout"), std::string::npos) << runc_create.err;
}

TEST_F(HooksTest, FailingPoststartAndPoststopHooksOnlyWarn) {
  json hooks = {{"poststart", {hook("poststart-a", "5"), hook("poststart-b")}},
                {"poststop", {hook("poststop-a", "6"), hook("poststop-b")}}};
  auto dir = hooks_bundle(hooks, "sleep 30");
  ASSERT_EQ(kvrun({"create", "--bundle", dir.string(), "h4"}).status, 0);
  Result start = kvrun({"start", "h4"});
  EXPECT_EQ(start.status, 0) << start.err;
  EXPECT_NE(start.err.find("poststart hook #0"), std::string::npos) << start.err;
  EXPECT_NE(start.err.find("exit status 5; stderr: poststart-a failed on purpose"),
            std::string::npos)
      << start.err;
  EXPECT_EQ(state("h4")["status"], "running");
  Result del = kvrun({"delete", "--force", "h4"});
  EXPECT_EQ(del.status, 0) << del.err;
  EXPECT_NE(del.err.find("poststop hook #0"), std::string::npos) << del.err;
  EXPECT_EQ(names(read_log()),
            (std::vector<std::string>{"poststart-a", "poststart-b", "poststop-a", "poststop-b"}));
  expect_nothing_left();

  if (!have_runc()) GTEST_SKIP() << "no runc to compare with";
  // runc runs poststart in create and fails it (killing the container); kvrun follows the spec.
  std::filesystem::remove(log_);
  Result runc_create = runc({"create", "--bundle", dir.string(), "h4"});
  EXPECT_NE(runc_create.status, 0);
  EXPECT_NE(runc({"state", "h4"}).status, 0);
  // A failing poststop only warns in runc too, but runc skips the hooks after it; kvrun runs
  // them, as the spec's "the remaining hooks ... continue" asks.
  std::filesystem::remove(log_);
  auto stop_only = bundle("stop-only", "exit 0", {{"hooks", {{"poststop", hooks["poststop"]}}}});
  ASSERT_EQ(runc({"create", "--bundle", stop_only.string(), "h4b"}).status, 0);
  ASSERT_EQ(runc({"start", "h4b"}).status, 0);
  ASSERT_TRUE(wait_stopped([&] { return json::parse(runc({"state", "h4b"}).out); }));
  Result runc_delete = runc({"delete", "h4b"});
  EXPECT_EQ(runc_delete.status, 0);
  EXPECT_NE(runc_delete.err.find("poststop-a failed on purpose"), std::string::npos);
  EXPECT_EQ(names(read_log()), (std::vector<std::string>{"poststop-a"}));
}

TEST_F(HooksTest, AFailingStartContainerHookFailsStartAndTheProcessNeverRuns) {
  json hooks = {{"startContainer",
                 {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo refused >&2; exit 9"}}}}}};
  auto dir = hooks_bundle(hooks, "echo ran > /ran");
  ASSERT_EQ(kvrun({"create", "--bundle", dir.string(), "h6"}).status, 0);
  Result start = kvrun({"start", "h6"});
  EXPECT_NE(start.status, 0);
  EXPECT_NE(start.err.find("startContainer hook #0 /bin/sh: exit status 9; stderr: refused"),
            std::string::npos)
      << start.err;
  EXPECT_TRUE(wait_stopped([&] { return state("h6"); }));
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "ran"));
  EXPECT_EQ(kvrun({"delete", "h6"}).status, 0);
  expect_nothing_left();

  if (!have_runc()) GTEST_SKIP() << "no runc to compare with";
  // runc's start has returned before its init runs the hook: it succeeds, and the failure is
  // only on the container's stderr. The process does not run either way.
  ASSERT_EQ(runc({"create", "--bundle", dir.string(), "h6"}).status, 0);
  EXPECT_EQ(runc({"start", "h6"}).status, 0);
  EXPECT_TRUE(wait_stopped([&] { return json::parse(runc({"state", "h6"}).out); }));
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "ran"));
  EXPECT_EQ(runc({"delete", "h6"}).status, 0);
}

TEST_F(HooksTest, AStartContainerHookPastItsTimeoutIsKilledInTheContainer) {
  // The shell's command line names the scratch dir, so a survivor would be a leftover.
  json hooks = {{"startContainer",
                 {{{"path", "/bin/sh"},
                   {"args", {"sh", "-c", "sleep 100; : " + scratch_.string()}},
                   {"timeout", 1}}}}};
  auto dir = hooks_bundle(hooks, "echo ran > /ran");
  ASSERT_EQ(kvrun({"create", "--bundle", dir.string(), "h7"}).status, 0);
  auto started = std::chrono::steady_clock::now();
  Result start = kvrun({"start", "h7"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_NE(start.status, 0);
  EXPECT_NE(start.err.find("startContainer hook #0 /bin/sh: did not finish within its timeout "
                           "of 1 s (killed)"),
            std::string::npos)
      << start.err;
  EXPECT_TRUE(wait_stopped([&] { return state("h7"); }));
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "ran"));
  EXPECT_EQ(kvrun({"delete", "h7"}).status, 0);
  expect_nothing_left();
}

// start waits for the startContainer hooks without holding the container's lock: a delete
// --force meanwhile does not wait for them (it used to wait the hook's 30 s) and ends the start.
TEST_F(HooksTest, DeleteForceDuringASlowStartContainerHookDoesNotWaitForIt) {
  json hooks = {{"startContainer",
                 {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "sleep 30"}}, {"timeout", 60}}}}};
  auto dir = hooks_bundle(hooks, "echo ran > /ran");
  ASSERT_EQ(kvrun({"create", "--bundle", dir.string(), "h10"}).status, 0);
  auto start = std::async(std::launch::async, [&] { return kvrun({"start", "h10"}); });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto deleting = std::chrono::steady_clock::now();
  Result deleted = kvrun({"delete", "--force", "h10"});
  EXPECT_LT(std::chrono::steady_clock::now() - deleting, std::chrono::seconds(10));
  EXPECT_EQ(deleted.status, 0) << deleted.err;
  ASSERT_EQ(start.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  EXPECT_NE(start.get().status, 0);
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "ran"));
  expect_nothing_left();
}

TEST_F(HooksTest, APoststartHookMayRunKvrunOnItsContainer) {
  // start no longer holds the container's lock: the hook's delete does not wait for it.
  json hooks = {{"poststart",
                 {{{"path", KVRUN_CLI_PATH},
                   {"args", kvrun_argv({"delete", "--force", "h8"})},
                   {"timeout", 20}}}}};
  auto dir = hooks_bundle(hooks, "sleep 30");
  ASSERT_EQ(kvrun({"create", "--bundle", dir.string(), "h8"}).status, 0);
  auto started = std::chrono::steady_clock::now();
  Result start = kvrun({"start", "h8"});
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(start.status, 0) << start.err;
  EXPECT_EQ(start.err.find("poststart hook #0"), std::string::npos) << start.err;
  EXPECT_NE(kvrun({"state", "h8"}).status, 0);
  expect_nothing_left();
}

TEST_F(HooksTest, AnInvalidHookIsRefusedBeforeAnythingRuns) {
  auto dir =
      hooks_bundle({{"prestart", {hook("prestart")}}, {"poststop", {{{"path", "relative/hook"}}}}});
  Result create = kvrun({"create", "--bundle", dir.string(), "h5"});
  EXPECT_NE(create.status, 0);
  EXPECT_NE(create.err.find("config.json: hooks.poststop[0].path: must be an absolute path"),
            std::string::npos)
      << create.err;
  EXPECT_FALSE(std::filesystem::exists(log_));
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
