#include "cli_fixture.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/child_process.h"

namespace kvrun::e2e {
namespace {

std::vector<char*> c_args(std::vector<std::string>& args) {
  std::vector<char*> result;
  for (auto& arg : args) result.push_back(arg.data());
  result.push_back(nullptr);
  return result;
}

void make_busybox_rootfs(const std::filesystem::path& rootfs) {
  for (const char* dir : {"bin", "proc", "dev", "sys", "tmp", "etc"})
    std::filesystem::create_directories(rootfs / dir);
  std::filesystem::copy_file("/bin/busybox", rootfs / "bin/busybox");
  for (const char* applet :
       {"sh", "cat", "echo", "sleep", "ls", "ps", "true", "false", "kill", "wc"})
    std::filesystem::create_symlink("busybox", rootfs / "bin" / applet);
}

}  // namespace

void CliTest::SetUp() {
  // Like conmon and containerd's shim: the monitor outlives `kvrun create` and is reparented to
  // us, so its exit status can be collected.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  std::string pattern = "/tmp/kvrun-e2e-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  scratch_ = pattern;
  root_ = scratch_ / "state";
  rootfs_ = scratch_ / "rootfs";
  make_busybox_rootfs(rootfs_);
  ::setenv("KVRUN_AGENT", KVRUN_AGENT_PATH, 1);
}

void CliTest::TearDown() {
  for (pid_t pid : leftover_processes()) ::kill(pid, SIGKILL);
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  std::error_code ec;
  std::filesystem::remove_all(scratch_, ec);
}

void CliTest::use_vm_sandbox(const std::string& vmm, const std::string& initrd) {
  sandbox_ = "vm";
  ::setenv("KVRUN_VMM", vmm.c_str(), 1);
  ::setenv("KVRUN_INITRD", initrd.c_str(), 1);
}

Result CliTest::kvrun(const std::vector<std::string>& args, const RunOptions& options) {
  // Waits for kvrun, not for EOF: the monitor `create` (or `run -d`) leaves running keeps the
  // pipes open.
  auto child = test::ChildProcess::spawn(kvrun_argv(args));
  child.write_stdin(options.input);
  if (!options.keep_stdin_open) child.close_stdin();
  child.wait(std::chrono::seconds(options.timeout_seconds));
  return {child.status()->shell_status(), child.stdout_text(), child.stderr_text()};
}

std::vector<std::string> CliTest::kvrun_argv(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {KVRUN_CLI_PATH,
                                   "--root",
                                   root_.string(),
                                   "--sandbox",
                                   sandbox_,
                                   "--rootfs-cache",
                                   (scratch_ / "cache").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

pid_t CliTest::spawn_kvrun(const std::vector<std::string>& args) {
  std::vector<std::string> argv = kvrun_argv(args);
  pid_t pid = ::fork();
  if (pid == 0) {
    int null_fd = ::open("/dev/null", O_RDWR);
    ::dup2(null_fd, 0);
    int out = ::open((scratch_ / "spawn.out").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(out, 1);
    ::dup2(out, 2);
    auto cargs = c_args(argv);
    ::execv(cargs[0], cargs.data());
    ::_exit(127);
  }
  return pid;
}

std::filesystem::path CliTest::bundle(const std::string& name, const std::string& script,
                                      const nlohmann::json& patch) {
  auto dir = scratch_ / name;
  std::filesystem::create_directories(dir);
  nlohmann::json config = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"args", {"/bin/sh", "-c", script + "\n# " + scratch_.string()}},
        {"env", {"PATH=/bin"}},
        {"cwd", "/"}}},
      {"root", {{"path", rootfs_.string()}}},
      {"hostname", "kvrun-e2e"},
      {"mounts", {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}}}},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "uts"}}, {{"type", "ipc"}}}}}},
  };
  config.merge_patch(patch);
  std::ofstream(dir / "config.json") << config.dump(2);
  return dir;
}

nlohmann::json pod_patch(const std::string& sandbox_id, bool sandbox) {
  nlohmann::json patch = {{"annotations",
                           {{"io.kubernetes.cri.container-type", sandbox ? "sandbox" : "container"},
                            {"io.kubernetes.cri.sandbox-id", sandbox_id}}}};
  if (!sandbox) {
    patch["linux"]["namespaces"] = {{{"type", "pid"}},
                                    {{"type", "mount"}},
                                    {{"type", "uts"}, {"path", "/proc/1/ns/uts"}},
                                    {{"type", "ipc"}, {"path", "/proc/1/ns/ipc"}}};
  }
  return patch;
}

nlohmann::json CliTest::state(const std::string& id) {
  Result result = kvrun({"state", id});
  EXPECT_EQ(result.status, 0) << result.err;
  auto json = nlohmann::json::parse(result.out, nullptr, false);
  EXPECT_FALSE(json.is_discarded()) << result.out;
  return json;
}

std::vector<pid_t> CliTest::leftover_processes() const {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmdline.find(root_.string()) != std::string::npos ||
        cmdline.find(scratch_.string()) != std::string::npos) {
      pid_t pid = std::stoi(name);
      if (pid != ::getpid()) found.push_back(pid);
    }
  }
  return found;
}

void CliTest::expect_nothing_left() {
  // Monitors exit a moment after the command that stopped them returns.
  EXPECT_TRUE(wait_until(
      [&] {
        while (::waitpid(-1, nullptr, WNOHANG) > 0) {
        }
        return leftover_processes().empty();
      },
      5000))
      << "processes left: " << leftover_processes().size();
  EXPECT_TRUE(!std::filesystem::exists(root_) || std::filesystem::is_empty(root_))
      << "state left in " << root_;
}

int wait_status(pid_t pid) {
  return test::wait_for_process(pid, std::chrono::seconds(120)).shell_status();
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0; }

bool wait_until(const std::function<bool()>& condition, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace kvrun::e2e
