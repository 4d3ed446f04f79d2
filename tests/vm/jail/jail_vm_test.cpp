// A running, jailed kvrun-vmm seen from the host (label kvm;hostile): what a guest that took
// over the VMM process would hold. Its own uid and gid, not root; no capability in any set;
// no_new_privs; seccomp on every thread; a filesystem of nothing but the vsock socket's
// directory; limits on descriptors, threads and file size; and, started as PID 1 of a PID
// namespace (as kvrun starts it), no other process in sight. Each of these fails with
// --no-jail.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// "Key:\tvalue" lines of /proc/<pid>/status.
std::map<std::string, std::string> status_fields(const fs::path& status) {
  std::map<std::string, std::string> fields;
  std::istringstream lines(read_text(status));
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    fields[line.substr(0, colon)] = value;
  }
  return fields;
}

// The pid of the kvrun-vmm process (not a wrapper) whose argv has `token`.
pid_t vmm_with_token(const std::string& token) {
  for (int pid : processes_with_argument(token)) {
    if (read_text("/proc/" + std::to_string(pid) + "/comm") == "kvrun-vmm\n") return pid;
  }
  return -1;
}

class HostileJailedVm : public ::testing::Test {
 protected:
  void SetUp() override {
    KVRUN_REQUIRE_KVM();
    std::string templ = (fs::temp_directory_path() / "kvrun-jail-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    std::ofstream(dir_ / "disk.img") << std::string(1 << 20, '\0');
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The hang guest with every kind of thread busy: a writable disk and rng (device thread),
  // vsock, a disk slot and its control socket (control thread), two vCPUs.
  std::vector<std::string> vm_args(const std::string& token) const {
    return {vmm_path(),
            "--kernel",
            test_guest_path("hang"),
            "--timeout",
            "60",
            "--cpus",
            "2",
            "--cmdline",
            "token=" + token,
            "--disk",
            (dir_ / "disk.img").string(),
            "--rng",
            "--vsock",
            "cid=3,uds=" + (dir_ / "v.sock").string(),
            "--disk-slots",
            "1",
            "--control-socket",
            (dir_ / "control.sock").string()};
  }

  fs::path dir_;
};

TEST_F(HostileJailedVm, RunsAsItsOwnUidWithNoCapabilitiesAndSeccompOnEveryThread) {
  const std::string token = unique_token();
  ChildProcess vm = ChildProcess::spawn(vm_args(token));
  ASSERT_TRUE(vm.wait_for_stdout("kvrun-test-guest: hang\n", 60s)) << transcript(vm);
  const fs::path proc = "/proc/" + std::to_string(vm.pid());

  auto status = status_fields(proc / "status");
  // Real, effective, saved and filesystem ids: all one id of kvrun's range, none root.
  for (const char* field : {"Uid", "Gid"}) {
    std::istringstream ids(status[field]);
    std::vector<unsigned long> values{std::istream_iterator<unsigned long>(ids), {}};
    ASSERT_EQ(values.size(), 4u) << field << ": " << status[field];
    for (unsigned long id : values) {
      EXPECT_GE(id, 2000000000ul) << field << ": " << status[field];
      EXPECT_EQ(id, values.front()) << field << ": " << status[field];
    }
  }
  EXPECT_EQ(status["Groups"], "");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"})
    EXPECT_EQ(status[set], "0000000000000000") << set;
  EXPECT_EQ(status["NoNewPrivs"], "1");
  EXPECT_EQ(status["Seccomp"], "2");

  // Every thread, each with its own filter: main, devices, control, vcpu0, vcpu1, and KVM's
  // worker in our thread group (kernels from 6.13; it inherits the vCPU thread's filter).
  std::vector<std::string> names;
  for (const auto& task : fs::directory_iterator(proc / "task")) {
    auto fields = status_fields(task.path() / "status");
    names.push_back(fields["Name"]);
    EXPECT_EQ(fields["Seccomp"], "2") << "thread " << fields["Name"];
    EXPECT_EQ(fields["NoNewPrivs"], "1") << "thread " << fields["Name"];
    EXPECT_EQ(fields["CapEff"], "0000000000000000") << "thread " << fields["Name"];
  }
  std::erase(names, "kvm-nx-lpage-re");
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"control", "devices", "kvrun-vmm", "vcpu0", "vcpu1"}));

  // The whole filesystem: the jail's root and the socket directory, read-only.
  std::istringstream mounts(read_text(proc / "mountinfo"));
  int count = 0;
  for (std::string line; std::getline(mounts, line); ++count) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point, options;
    fields >> id >> parent >> device >> root >> mount_point >> options;
    EXPECT_TRUE(mount_point == "/" || mount_point == dir_.string()) << line;
    EXPECT_EQ(options.rfind("ro,", 0), 0u) << line;
    EXPECT_NE(options.find("nosuid"), std::string::npos) << line;
    EXPECT_NE(options.find("nodev"), std::string::npos) << line;
    EXPECT_NE(options.find("noexec"), std::string::npos) << line;
  }
  EXPECT_EQ(count, 2) << read_text(proc / "mountinfo");

  // Its own IPC and UTS namespaces.
  for (const char* ns : {"ipc", "uts", "mnt"})
    EXPECT_NE(fs::read_symlink(proc / "ns" / ns), fs::read_symlink(fs::path("/proc/self/ns") / ns))
        << ns;

  // Limits: descriptors, threads (its five and KVM's worker), and file size (the log).
  const std::string limits = read_text(proc / "limits");
  EXPECT_NE(limits.find("Max open files            4096                 4096"), std::string::npos)
      << limits;
  EXPECT_NE(limits.find("Max processes             6                    6"), std::string::npos)
      << limits;
  EXPECT_EQ(limits.find("Max file size             unlimited"), std::string::npos) << limits;

  vm.send_signal(SIGTERM);
  vm.wait(30s);
  EXPECT_TRUE(exited_with(vm, 143));
}

TEST_F(HostileJailedVm, TwoLiveVmsNeverShareAUid) {
  const std::string first_token = unique_token() + "-a";
  const std::string second_token = unique_token() + "-b";
  ChildProcess first = ChildProcess::spawn(vm_args(first_token));
  auto second_args = vm_args(second_token);
  // Its own sockets.
  for (auto& arg : second_args) {
    if (arg.find("v.sock") != std::string::npos) arg = "cid=3,uds=" + (dir_ / "w.sock").string();
    if (arg.find("control.sock") != std::string::npos) arg = (dir_ / "c2.sock").string();
  }
  ChildProcess second = ChildProcess::spawn(second_args);
  ASSERT_TRUE(first.wait_for_stdout("kvrun-test-guest: hang\n", 60s)) << transcript(first);
  ASSERT_TRUE(second.wait_for_stdout("kvrun-test-guest: hang\n", 60s)) << transcript(second);
  const auto a = status_fields("/proc/" + std::to_string(first.pid()) + "/status")["Uid"];
  const auto b = status_fields("/proc/" + std::to_string(second.pid()) + "/status")["Uid"];
  EXPECT_NE(a, b);
  first.send_signal(SIGTERM);
  second.send_signal(SIGTERM);
  first.wait(30s);
  second.wait(30s);
}

// The jailed device and control threads still do their jobs: a host client's vsock
// handshake reaches the device thread (the guest has no driver, so no OK ever comes), and the
// control socket takes a disk into the slot and out again.
TEST_F(HostileJailedVm, SocketsStillWorkInTheJail) {
  const std::string token = unique_token();
  ChildProcess vm = ChildProcess::spawn(vm_args(token));
  ASSERT_TRUE(vm.wait_for_stdout("kvrun-test-guest: hang\n", 60s)) << transcript(vm);

  auto request = [](const fs::path& socket, const std::string& line) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return false;
    return ::write(fd.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size());
  };
  EXPECT_TRUE(request(dir_ / "v.sock", "CONNECT 1234\n"));
  EXPECT_TRUE(request(dir_ / "control.sock", "DETACH-DISK 0\n"));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(vm.status()) << "the VMM died serving its sockets" << transcript(vm);

  vm.send_signal(SIGTERM);
  vm.wait(30s);
  EXPECT_TRUE(exited_with(vm, 143));
}

// kvrun starts kvrun-vmm as PID 1 of a new PID namespace (ChildOptions::new_pid_namespace);
// `unshare --pid --fork` does the same here. As PID 1 it sees no other process, and SIGTERM
// (which a PID 1 without a handler would ignore) still stops it with 143.
TEST_F(HostileJailedVm, AsPid1OfItsOwnPidNamespaceItSeesNoOtherProcess) {
  const std::string token = unique_token();
  std::vector<std::string> argv = {"/usr/bin/unshare", "--pid", "--fork", "--kill-child"};
  auto args = vm_args(token);
  argv.insert(argv.end(), args.begin(), args.end());
  ChildProcess wrapper = ChildProcess::spawn(argv);
  ASSERT_TRUE(wrapper.wait_for_stdout("kvrun-test-guest: hang\n", 60s)) << transcript(wrapper);
  const pid_t pid = vmm_with_token(token);
  ASSERT_GT(pid, 0);
  auto status = status_fields("/proc/" + std::to_string(pid) + "/status");
  std::istringstream nspids(status["NSpid"]);
  std::vector<std::string> ids{std::istream_iterator<std::string>(nspids), {}};
  ASSERT_EQ(ids.size(), 2u) << status["NSpid"];
  EXPECT_EQ(ids.back(), "1");
  EXPECT_EQ(status["Seccomp"], "2");

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  wrapper.wait(30s);
  EXPECT_TRUE(exited_with(wrapper, 143));
}

}  // namespace
}  // namespace kvrun::test
