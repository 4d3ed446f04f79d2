#include "podman_fixture.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace kvrun::e2e {
namespace {

// kvrun's default state root. Not one of our own: conmon's exit command (`podman container
// cleanup`, which runs `kvrun delete`) passes --runtime but not --runtime-flag.
const std::filesystem::path kStateRoot = "/run/kvrun";

std::set<std::string> entries(const std::filesystem::path& dir) {
  std::set<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    names.insert(entry.path().filename().string());
  return names;
}

Result run_command(std::vector<std::string> argv, int timeout_seconds) {
  Result result;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return result;
  pid_t pid = ::fork();
  if (pid == 0) {
    int null_fd = ::open("/dev/null", O_RDONLY);
    ::dup2(null_fd, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_streams = 2;
  bool timed_out = false;
  while (open_streams > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[4096];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  for (auto& fd : fds)
    if (fd.fd >= 0) ::close(fd.fd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!timed_out) result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
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

std::filesystem::path PodmanTest::scratch_;
std::set<std::string> PodmanTest::states_before_;
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
  states_before_ = entries(kStateRoot);
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

void PodmanTest::SetUp() {
  struct stat st {};
  if (::stat("/dev/kvm", &st) != 0 || !S_ISCHR(st.st_mode))
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
                                   KVRUN_CLI_PATH,
                                   "--runtime-flag",
                                   "rootfs-cache=" + (scratch_ / "rootfs-cache").string(),
                                   "--runtime-flag",
                                   std::string("initrd=") + KVRUN_INITRD_PATH};
  if (const char* kernel = std::getenv("KVRUN_KERNEL"))
    argv.insert(argv.end(), {"--runtime-flag", std::string("kernel=") + kernel});
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, timeout_seconds);
}

std::vector<std::string> PodmanTest::run_flags() {
  return {"--network", "none", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"};
}

void PodmanTest::expect_nothing_left() {
  Result listed = podman({"ps", "--all", "--quiet"});
  EXPECT_EQ(listed.status, 0) << listed.err;
  EXPECT_EQ(listed.out, "") << "podman containers left";
  // conmon runs `podman container cleanup` (which calls kvrun delete) after the container
  // exits, asynchronously: give it time.
  auto new_states = [&] {
    std::string names;
    for (const auto& name : entries(kStateRoot))
      if (!states_before_.contains(name)) names += " " + name;
    return names;
  };
  std::vector<std::string> left;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((!(left = kvrun_processes(scratch_)).empty() || !new_states().empty()) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (const auto& process : left) ADD_FAILURE() << "process left: " << process;
  EXPECT_EQ(new_states(), "") << "kvrun state left in " << kStateRoot;
}

}  // namespace kvrun::e2e
