// The in-VM escape scene (labels linux and hostile): a pod member with containerd's default
// capabilities tries what a hostile tenant tries first, in the pod's VM, through kvrun:
// mknod and open of the guest's disk, /dev/kmsg and the serial console, a kernel panic line
// written to the console, vsock connections to CIDs 1, 2 and 3 (the agent's port), and a flood
// of stdout into a host reader slower than the guest. The pod's VM must live on, the VMM's own
// memory (guest RAM not counted) stay bounded, and the console log stay under its cap.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "bench/boot/smaps.h"
#include "cli_fixture.h"

namespace kvrun::e2e {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kFloodBytes = 64ull << 20;
// What the VMM's own memory may grow by while the flood goes through: per-connection vsock
// buffering is bounded by the credit it advertises, far below this.
constexpr uint64_t kMaxVmmGrowthKib = 8 * 1024;
// vmm.log and vmm.log.1, each at most the monitor's default cap (shim/sandbox/capped_log.h).
constexpr uint64_t kMaxConsoleLogBytes = 2ull << 20;

// containerd 1.6's default capability set (oci.WithDefaultSpec), CAP_MKNOD among them.
const nlohmann::json kContainerdCapabilities = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

// Each attempt prints "blocked <what>" or "ESCAPED <what>" on stderr; stdout carries the flood.
const std::string kScene = R"(cd /tmp
try() {
  what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "ESCAPED $what" >&2; else echo "blocked $what" >&2; fi
}
disk=$(sed -n 's/^ *\([0-9]*\) virtblk$/\1/p' /proc/devices)
mknod vda b "$disk" 0 2>/dev/null
try disk dd if=vda of=/dev/null bs=512 count=1
mknod kmsg c 1 11 2>/dev/null
try kmsg sh -c 'echo "Kernel panic - not syncing: from a container" > kmsg'
mknod ttyS0 c 4 64 2>/dev/null
try console sh -c 'echo "Kernel panic - not syncing: from a container" > ttyS0'
for cid in 1 2 3; do try "vsock-cid-$cid" vsock-xfer connect $cid 1024 1 16; done
head -c )" + std::to_string(kFloodBytes) +
                     R"( /dev/zero
echo "scene done" >&2
)";

uint64_t vmm_overhead_kib(pid_t vmm) {
  std::ifstream in("/proc/" + std::to_string(vmm) + "/smaps");
  std::stringstream text;
  text << in.rdbuf();
  return bench::summarize_smaps(text.str(), 0).overhead_kib();
}

uint64_t file_size_or_zero(const std::filesystem::path& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}

class HostileEscapeScene : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    use_vm_sandbox(KVRUN_VMM_PATH, KVRUN_INITRD_PATH);
    for (const char* applet : {"mknod", "dd", "head", "sed"})
      std::filesystem::create_symlink("busybox", rootfs_ / "bin" / applet);
    std::filesystem::copy_file(KVRUN_VSOCK_XFER_PATH, rootfs_ / "bin/vsock-xfer");
  }
};

TEST_F(HostileEscapeScene, TheContainerReachesNothingAndThePodsVmLivesOn) {
  auto pause = bundle("pause", "while :; do sleep 1; done", pod_patch("pod1", true));
  ASSERT_EQ(
      kvrun({"run", "-d", "-b", pause.string(), "pod1"}, {.input = "", .timeout_seconds = 120})
          .status,
      0);
  std::ifstream state_in(root_ / "pod1/state.json");
  const pid_t vmm = nlohmann::json::parse(state_in)["vmm_pid"].get<pid_t>();
  ASSERT_GT(vmm, 0);
  const uint64_t overhead_before = vmm_overhead_kib(vmm);

  auto member = pod_patch("pod1", false);
  member["process"]["capabilities"] = {{"bounding", kContainerdCapabilities},
                                       {"effective", kContainerdCapabilities},
                                       {"permitted", kContainerdCapabilities}};
  // containerd's default device rules: deny everything; the runtime adds its defaults.
  member["linux"]["resources"]["devices"] = {{{"allow", false}, {"access", "rwm"}}};
  auto intruder = bundle("intruder", kScene, member);

  // kvrun run in the foreground, its stdout a pipe this test drains slowly.
  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  std::vector<std::string> argv = kvrun_argv({"run", "-b", intruder.string(), "intruder"});
  const auto err_path = scratch_ / "intruder.err";
  const pid_t run = ::fork();
  if (run == 0) {
    ::dup2(::open("/dev/null", O_RDONLY), 0);
    ::dup2(out[1], 1);
    ::dup2(::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(out[1]);

  uint64_t received = 0, overhead_max = overhead_before;
  std::vector<char> chunk(64 * 1024);
  const auto deadline = std::chrono::steady_clock::now() + 240s;
  for (;;) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the flood did not end";
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    const ssize_t n = ::read(out[0], chunk.data(), chunk.size());
    if (n <= 0) break;
    received += static_cast<uint64_t>(n);
    // About 4 MiB/s: slower than the guest writes, so the data waits on the way.
    std::this_thread::sleep_for(15ms);
    if (received % (4u << 20) < static_cast<uint64_t>(n))
      overhead_max = std::max(overhead_max, vmm_overhead_kib(vmm));
  }
  ::close(out[0]);
  const int status = wait_status(run);
  std::ifstream err_in(err_path);
  std::stringstream err;
  err << err_in.rdbuf();

  EXPECT_EQ(status, 0) << err.str();
  EXPECT_EQ(received, kFloodBytes);
  for (const char* what :
       {"disk", "kmsg", "console", "vsock-cid-1", "vsock-cid-2", "vsock-cid-3"}) {
    EXPECT_NE(err.str().find(std::string("blocked ") + what + "\n"), std::string::npos)
        << what << "\n"
        << err.str();
  }
  EXPECT_EQ(err.str().find("ESCAPED"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("scene done"), std::string::npos) << err.str();

  std::printf("escape scene: VMM overhead %lu KiB before, %lu KiB at most during %lu MiB\n",
              static_cast<unsigned long>(overhead_before), static_cast<unsigned long>(overhead_max),
              static_cast<unsigned long>(kFloodBytes >> 20));
  EXPECT_LE(overhead_max, overhead_before + kMaxVmmGrowthKib);

  // The pod's VM lives on: the same VMM, and its sandbox container still answers.
  EXPECT_TRUE(process_exists(vmm));
  EXPECT_EQ(state("pod1")["status"], "running");
  Result alive = kvrun({"exec", "pod1", "echo", "alive"});
  EXPECT_EQ(alive.out, "alive\n") << alive.err;
  EXPECT_LE(file_size_or_zero(root_ / "pod1/vmm.log") + file_size_or_zero(root_ / "pod1/vmm.log.1"),
            kMaxConsoleLogBytes);

  ASSERT_EQ(kvrun({"delete", "--force", "pod1"}).status, 0);
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
