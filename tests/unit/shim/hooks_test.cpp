// OCI hooks on the host: parsing config.json's "hooks" (hostile sizes included) and running real
// hook processes through common/oci_hook.h: state on stdin, argv/env, exit statuses, bounded
// output in the message, timeouts that kill.
#include "shim/oci/hooks.h"

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "temp_dir.h"

namespace kvrun::oci {
namespace {

using nlohmann::json;

std::string parse_error(const json& hooks) {
  try {
    parse_hooks(json{{"hooks", hooks}});
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::string run_error(const Hook& hook, const std::string& state = "{}",
                      std::optional<std::chrono::seconds> timeout = std::nullopt) {
  try {
    run_hook(hook, state, "test hook #0", timeout);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

Hook shell(const std::string& script) { return Hook{"/bin/sh", {"sh", "-c", script}, {}, {}}; }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(HookParse, EveryKindInOrderWithItsFields) {
  Hooks hooks = parse_hooks(json::parse(R"({"hooks": {
      "prestart": [{"path": "/a"}],
      "createRuntime": [{"path": "/b", "args": ["b", "1"], "env": ["X=1"], "timeout": 5},
                        {"path": "/c", "env": []}],
      "createContainer": [], "startContainer": [{"path": "/d"}],
      "poststart": [{"path": "/e"}], "poststop": [{"path": "/f"}],
      "futureKind": [{"path": "relative is fine, unknown kinds are ignored"}]}})"));
  ASSERT_EQ(hooks.of(HookKind::kCreateRuntime).size(), 2u);
  const Hook& b = hooks.of(HookKind::kCreateRuntime)[0];
  EXPECT_EQ(b.path, "/b");
  EXPECT_EQ(b.args, (std::vector<std::string>{"b", "1"}));
  EXPECT_EQ(b.env, std::optional(std::vector<std::string>{"X=1"}));
  EXPECT_EQ(b.timeout, std::chrono::seconds(5));
  // An explicit empty env is an empty environment; an absent one inherits (runc's Go semantics).
  EXPECT_EQ(hooks.of(HookKind::kCreateRuntime)[1].env, std::optional(std::vector<std::string>{}));
  EXPECT_FALSE(hooks.of(HookKind::kPrestart)[0].env.has_value());
  EXPECT_EQ(hooks.of(HookKind::kPoststop)[0].path, "/f");
  EXPECT_EQ(hooks.of(HookKind::kStartContainer)[0].path, "/d");
  EXPECT_TRUE(parse_hooks(json::object()).empty());
  EXPECT_TRUE(parse_hooks(json{{"hooks", nullptr}}).empty());
}

TEST(HookParse, SavedHooksReadBackTheSame) {
  kvrun::testing::TempDir dir;
  Hooks hooks = parse_hooks(json::parse(R"({"hooks": {
      "createRuntime": [{"path": "/b", "args": ["b", "1"], "env": [], "timeout": 5}],
      "poststop": [{"path": "/f"}]}})"));
  EXPECT_TRUE(load_saved_hooks(dir.path()).empty());  // no file: no hooks
  save_hooks(dir.path(), hooks);
  EXPECT_EQ(load_saved_hooks(dir.path()), hooks);
  dir.write("hooks.json", "{\"poststop\": [{\"path\": \"relative\"}]}");
  EXPECT_THROW(load_saved_hooks(dir.path()), Error);
}

TEST(HookParse, MalformedHooksNameTheirField) {
  EXPECT_EQ(parse_error(json::array()), "config.json: hooks: must be an object");
  EXPECT_EQ(parse_error({{"prestart", json::object()}}),
            "config.json: hooks.prestart: must be an array");
  EXPECT_EQ(parse_error({{"poststop", {json::object()}}}),
            "config.json: hooks.poststop[0].path: required field is missing");
  EXPECT_EQ(parse_error({{"poststop", {{{"path", "bin/true"}}}}}),
            "config.json: hooks.poststop[0].path: must be an absolute path");
  EXPECT_EQ(parse_error({{"poststop", {{{"path", "/bin/true"}, {"args", "true"}}}}}),
            "config.json: hooks.poststop[0].args: must be an array of strings");
  EXPECT_EQ(parse_error({{"poststop", {{{"path", "/bin/true"}, {"env", {1}}}}}}),
            "config.json: hooks.poststop[0].env[0]: must be a string");
  for (json timeout : {json(0), json(-1), json(86401)})
    EXPECT_EQ(parse_error({{"createRuntime", {{{"path", "/x"}, {"timeout", timeout}}}}}),
              "config.json: hooks.createRuntime[0].timeout: must be 1-86400 seconds")
        << timeout;
  EXPECT_EQ(parse_error({{"createRuntime", {{{"path", "/x"}, {"timeout", 1.5}}}}}),
            "config.json: hooks.createRuntime[0].timeout: must be an integer");
  EXPECT_EQ(parse_error({{"createRuntime", {{{"path", "/x"}, {"timeout", UINT64_MAX}}}}}),
            "config.json: hooks.createRuntime[0].timeout: out of range");
}

TEST(HostileHookParse, CountsAndSizesAreBounded) {
  json many = json::array();
  for (int i = 0; i < 65; ++i) many.push_back({{"path", "/bin/true"}});
  EXPECT_EQ(parse_error({{"poststart", many}}), "config.json: hooks.poststart: more than 64 hooks");
  json args = json::array();
  for (int i = 0; i < 257; ++i) args.push_back("a");
  EXPECT_EQ(parse_error({{"poststart", {{{"path", "/bin/true"}, {"args", args}}}}}),
            "config.json: hooks.poststart[0].args: more than 256 entries");
  EXPECT_EQ(parse_error({{"poststart", {{{"path", "/bin/true"}, {"env", args}}}}}),
            "config.json: hooks.poststart[0].env: more than 256 entries");
  EXPECT_EQ(parse_error({{"poststart", {{{"path", "/" + std::string(4096, 'a')}}}}}),
            "config.json: hooks.poststart[0].path: longer than 4096 bytes");
  // execve would cut the string at the NUL and run something else.
  EXPECT_EQ(parse_error({{"poststart", {{{"path", std::string("/bin/true\0x", 11)}}}}}),
            "config.json: hooks.poststart[0].path: contains a NUL byte");
  EXPECT_EQ(parse_error(
                {{"poststart", {{{"path", "/bin/true"}, {"args", {"a", std::string("b\0", 2)}}}}}}),
            "config.json: hooks.poststart[0].args[1]: contains a NUL byte");
}

TEST(HookRun, TheStateArrivesOnStdinAndArgvAndEnvAreTheHooks) {
  kvrun::testing::TempDir dir;
  auto out = dir.path() / "out";
  Hook hook{"/bin/sh",
            {"my-argv0", "-c",
             "{ head -c 8 /proc/$$/cmdline; echo \" $0 $1 $X\"; cat; } > " + out.string(), "zero",
             "first"},
            std::vector<std::string>{"X=from-env"},
            {}};
  EXPECT_EQ(run_error(hook, R"({"id":"c1"})"), "");
  EXPECT_EQ(read_file(out), "my-argv0 zero first from-env\n{\"id\":\"c1\"}");
}

TEST(HookRun, WithoutEnvTheCallersEnvironmentIsInherited) {
  kvrun::testing::TempDir dir;
  ::setenv("KVRUN_HOOK_TEST", "inherited", 1);
  auto out = dir.path() / "out";
  EXPECT_EQ(run_error(shell("echo $KVRUN_HOOK_TEST > " + out.string())), "");
  EXPECT_EQ(read_file(out), "inherited\n");
  Hook empty = shell("echo \"[$KVRUN_HOOK_TEST]\" > " + out.string());
  empty.env = std::vector<std::string>{};
  EXPECT_EQ(run_error(empty), "");
  EXPECT_EQ(read_file(out), "[]\n");
}

TEST(HookRun, AFailureCarriesTheStatusAndTheHooksOutput) {
  EXPECT_EQ(run_error(shell("echo out line; echo bad thing >&2; echo second >&2; exit 3")),
            "test hook #0 /bin/sh: exit status 3; stderr: bad thing second; stdout: out line");
  EXPECT_EQ(run_error(shell("kill -TERM $$")), "test hook #0 /bin/sh: killed by signal 15");
  EXPECT_EQ(run_error(Hook{"/nonexistent/hook", {}, {}, {}}),
            "test hook #0 /nonexistent/hook: exec: No such file or directory");
}

TEST(HostileHookRun, OutputIsBoundedToItsEndAndMadePrintable) {
  // 8 MiB of output and a terminal escape: the message keeps the last KiB of each stream.
  std::string error = run_error(
      shell("head -c 8388608 /dev/zero | tr '\\0' x; head -c 8388608 /dev/zero | tr '\\0' y >&2; "
            "printf '\\033[2Jthe end' >&2; exit 1"));
  EXPECT_LT(error.size(), 2400u) << error.size();
  EXPECT_NE(error.find("stderr: ...yyy"), std::string::npos);
  EXPECT_NE(error.find("\\x1b[2Jthe end"), std::string::npos) << error.substr(0, 200);
  EXPECT_EQ(error.find('\033'), std::string::npos);
}

TEST(HookRun, ATimeoutKillsTheHook) {
  kvrun::testing::TempDir dir;
  auto pid_file = dir.path() / "pid";
  Hook hook = shell("echo $$ > " + pid_file.string() + "; exec sleep 100");
  hook.timeout = std::chrono::seconds(1);
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run_error(hook),
            "test hook #0 /bin/sh: did not finish within its timeout of 1 s (killed)");
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, std::chrono::milliseconds(900));
  EXPECT_LT(took, std::chrono::seconds(5));
  pid_t pid = std::stoi(read_file(pid_file));
  EXPECT_NE(::kill(pid, 0), 0) << "the hook still runs";
  // The caller's default applies to a hook without a timeout of its own.
  Hook untimed = shell("sleep 100");
  EXPECT_NE(run_error(untimed, "{}", std::chrono::seconds(1)).find("timeout of 1 s"),
            std::string::npos);
}

TEST(HostileHookRun, AHookThatLeavesAChildHoldingItsPipesStillEnds) {
  // The hook exits at once; the child it left keeps stdout open for 30 s.
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(run_error(shell("sleep 30 & exit 0")), "");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST(HostileHookRun, AHookThatDoesNotReadAHugeStateIsNoProblem) {
  std::string state(16 << 20, 'x');  // far beyond a pipe's buffer
  EXPECT_EQ(run_error(shell("exit 0"), state), "");
  EXPECT_EQ(run_error(shell("exit 4"), state), "test hook #0 /bin/sh: exit status 4");
  // A hook that reads it all gets all of it.
  kvrun::testing::TempDir dir;
  auto out = dir.path() / "n";
  EXPECT_EQ(run_error(shell("wc -c > " + out.string()), state), "");
  EXPECT_EQ(std::stoul(read_file(out)), state.size());
}

// A hook must never inherit a descriptor of the runtime (its state, its agent connection): if
// the child cannot close them all, the hook does not run. close_range is made to fail with
// ENOSYS (an old kernel's answer) by a seccomp filter in a child process of the test.
TEST(HostileHookRun, NoHookRunsWhenTheRuntimesDescriptorsCannotBeClosed) {
  kvrun::testing::TempDir dir;
  const auto ran = dir.path() / "ran";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_close_range, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
      ::_exit(2);
    }
    const std::string error = run_error(shell("touch " + ran.string()));
    ::_exit(error == "test hook #0 /bin/sh: exec: Function not implemented" ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "wait status " << status;
  EXPECT_FALSE(std::filesystem::exists(ran));
}

TEST(HookState, IsTheRuntimeSpecsStateObject) {
  state::ContainerState container;
  container.id = "c1";
  container.bundle = "/b";
  container.pid = 42;
  container.annotations = {{"a", "b"}};
  EXPECT_EQ(hook_state(container, state::Status::kCreating),
            R"({"ociVersion":"1.0.2","id":"c1","status":"creating","pid":42,"bundle":"/b",)"
            R"("annotations":{"a":"b"}})");
  EXPECT_EQ(hook_state(container, state::Status::kStopped),
            R"({"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"/b",)"
            R"("annotations":{"a":"b"}})");
}

}  // namespace
}  // namespace kvrun::oci
