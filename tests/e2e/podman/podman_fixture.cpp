#include "podman_fixture.h"

#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/child_process.h"

namespace kvrun::e2e {
namespace {

std::string entries(const std::filesystem::path& dir) {
  std::string names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    names += " " + entry.path().filename().string();
  return names;
}

// The runtime podman is given: kvrun with its flags built in. conmon's exit command (`podman
// container cleanup`, which runs `<runtime> delete`) passes --runtime but drops --runtime-flag,
// so a --runtime-flag root=X container would never be deleted from X (docs/podman.md).
void write_runtime_wrapper(const std::filesystem::path& path, const std::filesystem::path& root,
                           const std::filesystem::path& cache) {
  std::string flags = " --root '" + root.string() + "' --rootfs-cache '" + cache.string() +
                      "' --initrd '" KVRUN_INITRD_PATH "'";
  if (const char* kernel = std::getenv("KVRUN_KERNEL"))
    flags += " --kernel '" + std::string(kernel) + "'";
  // KVRUN_SANDBOX=host runs the suite without KVM (the agent on the host; for debugging).
  if (const char* sandbox = std::getenv("KVRUN_SANDBOX"))
    flags += " --sandbox '" + std::string(sandbox) + "'";
  std::ofstream(path) << "#!/bin/sh\nexec '" KVRUN_CLI_PATH "'" << flags << " \"$@\"\n";
  std::filesystem::permissions(path, std::filesystem::perms::owner_all);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Processes left: anything whose command line names our scratch directory (conmon, kvrun's
// monitors and exec monitors through podman's bundle and pid-file paths), and any kvrun-vmm.
std::vector<std::string> kvrun_processes(const std::filesystem::path& scratch) {
  std::vector<std::string> found;
  std::string root = scratch.string();
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (std::stoi(name) == ::getpid()) continue;
    std::string cmdline = read_file(entry.path() / "cmdline");
    std::string comm = read_file(entry.path() / "comm");
    if (cmdline.find(root) != std::string::npos || comm == "kvrun-vmm\n") {
      for (auto& c : cmdline)
        if (c == '\0') c = ' ';
      found.push_back(name + ": " + cmdline);
    }
  }
  return found;
}

// podman mounts each container's /dev/shm tmpfs under its storage; a failed test may leave one.
void unmount_below(const std::filesystem::path& dir) {
  std::istringstream mounts(read_file("/proc/self/mountinfo"));
  std::vector<std::string> targets;
  for (std::string line; std::getline(mounts, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, target;
    fields >> id >> parent >> device >> root >> target;
    if (target.rfind(dir.string() + "/", 0) == 0) targets.push_back(target);
  }
  for (auto it = targets.rbegin(); it != targets.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
}

}  // namespace

Result run_command(const std::vector<std::string>& argv, int timeout_seconds) {
  auto child = test::ChildProcess::spawn(argv);
  child.close_stdin();
  if (!child.wait(std::chrono::seconds(timeout_seconds))) {
    // Which of podman, conmon, kvrun's monitor or the VM was stuck, and where.
    auto ps = test::run_to_completion(
        {"/bin/ps", "-eo", "pid,ppid,pgid,sid,stat,wchan:24,etime,args"}, std::chrono::seconds(10));
    return {-1, child.stdout_text(),
            child.stderr_text() + "\n--- timed out; processes:\n" + ps.stdout_text()};
  }
  return {child.status()->shell_status(), child.stdout_text(), child.stderr_text()};
}

std::filesystem::path PodmanTest::scratch_;
std::string PodmanTest::load_error_;

void PodmanTest::SetUpTestSuite() {
  // Under /tmp: scripts/with-nested-kvm.sh --private-tmp gives L1 a tmpfs there, and kvrun's
  // unix sockets cannot live on the 9p-shared host filesystem.
  std::string pattern = "/tmp/kvp-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    load_error_ = "mkdtemp failed";
    return;
  }
  scratch_ = pattern;
  write_runtime_wrapper(scratch_ / "kvrun", state_root(), scratch_ / "rootfs-cache");
  auto archive = scratch_ / "busybox.tar";
  Result built = run_command({"/bin/bash", KVRUN_ARCHIVE_SCRIPT, archive.string(), kImage}, 300);
  if (built.status != 0) {
    load_error_ = "make-busybox-archive.sh: " + built.err;
    return;
  }
  Result loaded = podman({"load", "-i", archive.string()});
  if (loaded.status != 0) load_error_ = "podman load: " + loaded.err;
}

void PodmanTest::TearDownTestSuite() {
  if (scratch_.empty()) return;
  podman({"rm", "--all", "--force", "--time", "0"});
  unmount_below(scratch_);
  std::error_code ec;
  std::filesystem::remove_all(scratch_, ec);
}

std::filesystem::path PodmanTest::state_root() {
  // Short: <root>/<64-character id>/vsock.sock_1024 must fit a unix socket address.
  return scratch_ / "kr";
}

void PodmanTest::SetUp() {
  struct stat st {};
  const char* sandbox = std::getenv("KVRUN_SANDBOX");
  bool host = sandbox != nullptr && std::string(sandbox) == "host";
  if (!host && (::stat("/dev/kvm", &st) != 0 || !S_ISCHR(st.st_mode)))
    GTEST_FAIL() << "needs /dev/kvm (run through scripts/with-nested-kvm.sh on machines without)";
  ASSERT_TRUE(load_error_.empty()) << load_error_;
}

Result PodmanTest::podman(const std::vector<std::string>& args, int timeout_seconds) {
  std::vector<std::string> argv = {KVRUN_PODMAN_PATH,
                                   "--root",
                                   (scratch_ / "storage").string(),
                                   "--runroot",
                                   (scratch_ / "run").string(),
                                   "--tmpdir",
                                   (scratch_ / "podman-tmp").string(),
                                   "--storage-driver",
                                   "vfs",
                                   "--cgroup-manager",
                                   "cgroupfs",
                                   "--events-backend",
                                   "file",
                                   "--runtime",
                                   (scratch_ / "kvrun").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout_seconds);
}

std::vector<std::string> PodmanTest::run_args(std::vector<std::string> before_image,
                                              const std::vector<std::string>& command,
                                              Network network) {
  std::vector<std::string> args = {"run"};
  args.insert(args.end(), before_image.begin(), before_image.end());
  if (network == Network::kNone) args.insert(args.end(), {"--network", "none"});
  args.insert(args.end(), {"--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"});
  args.push_back(kImage);
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

void PodmanTest::expect_nothing_left() {
  Result listed = podman({"ps", "--all", "--quiet"});
  EXPECT_EQ(listed.status, 0) << listed.err;
  EXPECT_EQ(listed.out, "") << "podman containers left";
  // conmon runs `podman container cleanup` (which calls kvrun delete) after the container
  // exits, asynchronously: give it time.
  std::vector<std::string> left;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((!(left = kvrun_processes(scratch_)).empty() || !entries(state_root()).empty()) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (const auto& process : left) ADD_FAILURE() << "process left: " << process;
  EXPECT_EQ(entries(state_root()), "") << "kvrun state left in " << state_root();
}

}  // namespace kvrun::e2e
