#include "containerd_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "shim/containerd/shim_socket.h"
#include "tests/support/child_process.h"

namespace kvrun::e2e {
namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& arg : args) out.push_back(arg.data());
  out.push_back(nullptr);
  return out;
}

std::vector<pid_t> processes_running(const std::vector<std::string>& executables) {
  std::vector<pid_t> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    // By identity, not name: a process in containerd's mount namespace may show its
    // executable under another path (a bind mount's source, under nested KVM).
    for (const auto& wanted : executables) {
      std::error_code ec;
      if (fs::equivalent(entry.path() / "exe", wanted, ec)) found.push_back(std::stoi(name));
    }
  }
  return found;
}

// "PID (state: S) cmdline" of each, for failure messages.
std::string processes_left(const std::vector<std::string>& executables) {
  std::string out;
  for (pid_t pid : processes_running(executables)) {
    fs::path proc = "/proc/" + std::to_string(pid);
    std::string state = read_file(proc / "status");
    auto at = state.find("State:");
    state = at == std::string::npos ? "?" : state.substr(at + 7, state.find('\n', at) - at - 7);
    std::string cmdline = read_file(proc / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    out += std::to_string(pid) + " (state: " + state + ") " + cmdline + "\n";
  }
  return out;
}

bool kernel_has_filesystem(const std::string& name) {
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line)) {
    if (line.ends_with("\t" + name)) return true;
  }
  return false;
}

// containerd's default snapshotter (and ctr itself, which mounts the snapshot to read the
// image's passwd) needs overlayfs. The nested-KVM L1 kernel has it as a module only, in the
// cache that scripts/with-nested-kvm.sh names; without it the tests fall back to the copying
// "native" snapshotter.
void ensure_overlayfs() {
  if (kernel_has_filesystem("overlay")) return;
  if (const char* dir = std::getenv("KVRUN_NESTED_KERNEL_DIR"); dir != nullptr) {
    fs::path module = fs::path(dir) / "modules/fs/overlayfs/overlay.ko";
    if (fs::exists(module)) run({"insmod", module.string()});
  }
  if (!kernel_has_filesystem("overlay")) ::setenv("CONTAINERD_SNAPSHOTTER", "native", 1);
}

}  // namespace

std::string kvrun_processes() {
  std::string found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string comm = read_file(entry.path() / "comm");
    if (!comm.starts_with("kvrun") && !comm.starts_with("containerd-shim")) continue;
    std::error_code ec;
    fs::path exe = fs::read_symlink(entry.path() / "exe", ec);
    found += name + " " + comm.substr(0, comm.size() - 1) + " " +
             (ec ? "(" + ec.message() + ")" : exe.string()) + "\n";
  }
  return found;
}

int wait_status(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) < 0) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

bool wait_until(const std::function<bool()>& condition, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

Result run(const std::vector<std::string>& argv, int timeout_seconds) {
  // env looks the program up on PATH, which the shared runner does not.
  std::vector<std::string> with_lookup = {"/usr/bin/env"};
  with_lookup.insert(with_lookup.end(), argv.begin(), argv.end());
  test::ChildProcess child =
      test::run_to_completion(with_lookup, std::chrono::seconds(timeout_seconds));
  return {child.status() ? child.status()->shell_status() : -1, child.stdout_text(),
          child.stderr_text()};
}

void Containerd::start(const std::string& sandbox, const std::string& extra_config, bool cri) {
  char pattern[] = "/tmp/kvrun-containerd-XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  scratch = pattern;
  sandbox_ = sandbox;
  address = (scratch / "containerd.sock").string();
  std::ofstream config(scratch / "config.toml");
  config << "version = 2\n"
         << "root = \"" << (scratch / "root").string() << "\"\n"
         << "state = \"" << (scratch / "state").string() << "\"\n";
  if (!cri) config << "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n";
  config << "[grpc]\n  address = \"" << address << "\"\n"
         << "[ttrpc]\n  address = \"" << address << ".ttrpc\"\n"
         << "[debug]\n  level = \"debug\"\n"
         << extra_config;
  config.close();

  // The shim finds kvrun through KVRUN_BIN, and containerd finds the shim on PATH; the shim
  // inherits containerd's environment, kvrun the shim's.
  std::string path = fs::path(KVRUN_SHIM_PATH).parent_path().string() + ":" + std::getenv("PATH");
  ::setenv("PATH", path.c_str(), 1);
  ::setenv("KVRUN_BIN", KVRUN_CLI_PATH, 1);
  ::setenv("KVRUN_AGENT", KVRUN_AGENT_PATH, 1);
  ::setenv("KVRUN_VMM", KVRUN_VMM_PATH, 1);
  ::setenv("KVRUN_INITRD", KVRUN_INITRD_PATH, 1);
  ::setenv("KVRUN_SANDBOX", sandbox.c_str(), 1);
  ::setenv("KVRUN_CONTAINERD_ROOT", (scratch / "kvrun").c_str(), 1);
  ::setenv("KVRUN_ROOTFS_CACHE", (scratch / "cache").c_str(), 1);

  ensure_overlayfs();

  // In a mount namespace of its own whose mounts propagate, as / does on a systemd host (here
  // it may be private): a host sandbox's agent sees the rootfs mounted for a pod member only
  // through propagation.
  std::vector<std::string> argv = {"unshare",
                                   "--mount",
                                   "--propagation",
                                   "shared",
                                   "containerd",
                                   "--config",
                                   (scratch / "config.toml").string()};
  auto args = c_argv(argv);
  pid = ::fork();
  if (pid == 0) {
    int log = ::open((scratch / "containerd.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(log, 1);
    ::dup2(log, 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ASSERT_TRUE(wait_until([&] { return ctr({"version"}, 10).status == 0; }, 60000))
      << read_file(scratch / "containerd.log");
  Result imported = ctr({"images", "import", KVRUN_IMAGE_ARCHIVE}, 300);
  ASSERT_EQ(imported.status, 0) << imported.out << imported.err;
  ready = true;
}

void Containerd::stop() {
  if (pid > 0) {
    // A test that failed half way may have left tasks: end them (their shims and VMs too),
    // so that the next suite's leftover checks see only its own.
    std::istringstream tasks(ctr({"tasks", "ls", "-q"}, 30).out);
    std::string id;
    while (std::getline(tasks, id)) {
      if (id.empty()) continue;
      ctr({"tasks", "kill", "-s", "SIGKILL", id}, 30);
      ctr({"tasks", "delete", "--force", id}, 60);
    }
    std::istringstream containers(ctr({"containers", "ls", "-q"}, 30).out);
    while (std::getline(containers, id)) {
      if (!id.empty()) ctr({"containers", "delete", id}, 30);
    }
    ::kill(pid, SIGTERM);
    wait_status(pid);
    pid = -1;
  }
  if (!scratch.empty()) {
    // Keep containerd's log (the shim's lines included) where the host can read it after a
    // nested run: the scratch directory is on the L1's own /tmp.
    std::error_code copy_ec;
    fs::copy_file(scratch / "containerd.log",
                  fs::current_path() / ("containerd-" + sandbox_ + ".log"),
                  fs::copy_options::overwrite_existing, copy_ec);
    // Snapshots may still be mounted if a test failed half way.
    std::ifstream mounts("/proc/self/mountinfo");
    std::string line;
    std::vector<std::string> targets;
    while (std::getline(mounts, line)) {
      std::istringstream fields(line);
      std::string skip, target;
      for (int i = 0; i < 4; ++i) fields >> skip;
      fields >> target;
      if (target.starts_with(scratch.string())) targets.push_back(target);
    }
    for (auto it = targets.rbegin(); it != targets.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(scratch, ec);
  }
}

Result Containerd::ctr(const std::vector<std::string>& args, int timeout_seconds) const {
  std::vector<std::string> argv = {"ctr", "--address", address, "-n", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, timeout_seconds);
}

Result Containerd::ctr_in_terminal(const std::vector<std::string>& args, unsigned short rows,
                                   unsigned short cols, const std::string& prompt,
                                   const std::string& typed, int timeout_seconds) const {
  std::vector<std::string> argv = {"ctr", "--address", address, "-n", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  auto c_args = c_argv(argv);
  winsize size{rows, cols, 0, 0};
  int master = -1;
  pid_t child = ::forkpty(&master, nullptr, nullptr, &size);
  if (child == 0) {
    ::execvp(c_args[0], c_args.data());
    ::_exit(127);
  }
  Result result;
  if (child < 0) return result;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  bool typed_yet = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      ::kill(child, SIGKILL);
      break;
    }
    pollfd ready{master, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(left)) < 0 && errno != EINTR) break;
    char buffer[4096];
    ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EIO: ctr and everything on its terminal have gone
    result.out.append(buffer, static_cast<std::size_t>(n));
    if (!typed_yet && result.out.find(prompt) != std::string::npos) {
      typed_yet = ::write(master, typed.data(), typed.size()) == static_cast<ssize_t>(typed.size());
    }
  }
  ::close(master);
  result.status = wait_status(child);
  return result;
}

pid_t Containerd::spawn_ctr(const std::vector<std::string>& args, const std::string& name) const {
  std::vector<std::string> argv = {"ctr", "--address", address, "-n", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  auto c_args = c_argv(argv);
  pid_t child = ::fork();
  if (child == 0) {
    int null_fd = ::open("/dev/null", O_RDONLY);
    int out = ::open((scratch / (name + ".out")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open((scratch / (name + ".err")).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(null_fd, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::execvp(c_args[0], c_args.data());
    ::_exit(127);
  }
  return child;
}

std::string Containerd::spawned_output(const std::string& name) const {
  return read_file(scratch / (name + ".out"));
}

std::string Containerd::log() const { return read_file(scratch / "containerd.log"); }

std::string Containerd::logs_of(const std::string& id) const {
  constexpr std::size_t kTail = 4000;
  std::vector<fs::path> logs = {bundle_dir(id) / "log.json"};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(kvrun_dir(id), ec)) {
    if (entry.path().extension() == ".log") logs.push_back(entry.path());
  }
  std::string out;
  for (const auto& path : logs) {
    std::string text = fs::exists(path, ec) ? read_file(path) : "(absent)";
    if (text.size() > kTail) text = "..." + text.substr(text.size() - kTail);
    out += "---- " + path.string() + " ----\n" + text + "\n";
  }
  return out;
}

fs::path Containerd::bundle_dir(const std::string& id) const {
  return scratch / "state/io.containerd.runtime.v2.task" / ns / id;
}

fs::path Containerd::kvrun_dir(const std::string& id) const { return scratch / "kvrun" / ns / id; }

fs::path Containerd::kvrun_state(const std::string& id) const {
  return kvrun_dir(id) / "state.json";
}

std::string Containerd::sandbox_executable() const {
  return sandbox_ == "vm" ? KVRUN_VMM_PATH : KVRUN_AGENT_PATH;
}

std::size_t count_processes(const std::string& path) { return processes_running({path}).size(); }

void Containerd::expect_nothing_left(const std::vector<std::string>& ids) const {
  std::error_code ec;
  fs::path kvrun_root = scratch / "kvrun" / ns;
  if (fs::exists(kvrun_root)) {
    for (const auto& entry : fs::directory_iterator(kvrun_root)) {
      ADD_FAILURE() << "kvrun state left: " << entry.path();
    }
  }
  for (const auto& id : ids) {
    std::string socket = containerd::socket_path(containerd::shim_socket_address(address, ns, id));
    EXPECT_FALSE(fs::exists(socket)) << "shim socket left for " << id << ": " << socket;
    fs::path bundle = bundle_dir(id);
    EXPECT_FALSE(fs::exists(bundle)) << "bundle left: " << bundle;
  }
  // Shims exit shortly after containerd's Shutdown; give them a moment.
  std::vector<std::string> programs = {KVRUN_SHIM_PATH, KVRUN_VMM_PATH, KVRUN_AGENT_PATH};
  EXPECT_TRUE(wait_until([&] { return processes_running(programs).empty(); }, 10000))
      << "shim/VMM/agent processes left:\n"
      << processes_left(programs) << "every kvrun process:\n"
      << kvrun_processes();
  std::ifstream mounts("/proc/" + std::to_string(pid) + "/mountinfo");
  std::string line;
  while (std::getline(mounts, line)) {
    if (line.find((scratch / "state").string()) != std::string::npos) {
      ADD_FAILURE() << "mount left: " << line;
    }
  }
  Result tasks = ctr({"tasks", "ls", "-q"});
  EXPECT_EQ(tasks.out, "") << "tasks left";
}

}  // namespace kvrun::e2e
