// The guest console is untrusted text (ctest labels kvm and hostile; test guests on /dev/kvm): a
// panic line on it must not end the VM, only the guest kernel's pvpanic report does; a flooding
// guest gets no more of the host than the console rate limit.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "shim/common/command.h"
#include "shim/sandbox/capped_log.h"
#include "shim/sandbox/child_process.h"
#include "tests/unit/shim/temp_dir.h"
#include "tests/vm/vm_assertions.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;

constexpr auto kTestDeadline = 90s;
constexpr double kFloodBytes = 256 << 10;  // vmm/test-guests/console-flood.c

class HostileConsole : public ::testing::Test {
 protected:
  void SetUp() override { KVRUN_REQUIRE_KVM(); }

  static ChildProcess boot(const std::string& guest, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--kernel", test_guest_path(guest), "--timeout", "60"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_vmm(args, kTestDeadline);
  }
};

double children_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_CHILDREN, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST_F(HostileConsole, PanicLinesOnTheConsoleDoNotEndTheVm) {
  ChildProcess vm = boot("fake-panic");
  EXPECT_TRUE(exited_with(vm, 7)) << "console text decided how the VM ended";
  EXPECT_TRUE(stdout_has(vm, "Kernel panic - not syncing: fake\n"));
  EXPECT_TRUE(stdout_has(vm, "kvrun-test-guest: fake-panic still running\n"));
  EXPECT_FALSE(stderr_has(vm, "guest kernel panic"));
}

TEST_F(HostileConsole, PvpanicReportEndsTheVmWith125) {
  const auto start = std::chrono::steady_clock::now();
  ChildProcess vm = boot("panic");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_TRUE(exited_with(vm, 125));
  EXPECT_TRUE(stdout_has(vm, "Kernel panic - not syncing: test guest\n"));
  EXPECT_TRUE(stderr_has(vm, "kvrun-vmm: guest kernel panic: reported on the pvpanic port"));
  // The guest halts with interrupts off; only its pvpanic report can end it this early.
  EXPECT_LT(elapsed, 30s) << "the VMM waited for --timeout instead of taking the report"
                          << transcript(vm);
}

// Small limits: on a PVM host a guest cannot print faster than the default rate (every byte is a
// slow VM exit); on hardware KVM it can.
TEST_F(HostileConsole, FloodIsCutToTheRateLimit) {
  const double cpu_before = children_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  ChildProcess vm = boot("console-flood", {"--console-rate", "8192", "--console-burst", "16384"});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = children_cpu_seconds() - cpu_before;
  ASSERT_TRUE(exited_with(vm, 0));
  const double out = static_cast<double>(vm.stdout_text().size());
  std::cout << "console flood: " << kFloodBytes / 1024 << " KiB from the guest, " << out / 1024
            << " KiB passed in " << seconds << " s, VMM CPU " << cpu << " s\n";
  EXPECT_EQ(vm.stdout_text().rfind("kvrun-test-guest: console-flood start\n", 0), 0u);
  // Burst, rate times the run, and slack for the marker lines.
  EXPECT_LE(out, 16384 + 8192 * seconds + 1024) << "flood passed the limit";
  EXPECT_LT(out, kFloodBytes / 2);
  EXPECT_TRUE(stdout_has(vm, "[kvrun-vmm: console rate limit: "));
  EXPECT_TRUE(stderr_has(vm, "bytes of guest output over the rate limit were dropped"));
}

// The whole path of a sandbox's console: a flooding guest, kvrun-vmm's rate limit, the pipe and
// the monitor's capped vmm.log (as shim/sandbox/launcher.cpp starts it), with a small cap so
// that the test sees it rotate several times.
TEST_F(HostileConsole, FloodKeepsVmmLogUnderItsCap) {
  kvrun::testing::TempDir dir;
  const auto log = dir.path() / "vmm.log";
  constexpr uint64_t kCap = sandbox::kMinLogMaxBytes;
  {
    sandbox::ChildProcess vmm(
        {vmm_path(), "--kernel", test_guest_path("console-flood"), "--timeout", "60"},
        sandbox::ChildOptions{log, -1, false, kCap});
    std::optional<int> status;
    for (int i = 0; i < 9000 && !(status = vmm.try_wait()); ++i) ::usleep(10000);
    ASSERT_EQ(status, 0) << shim::last_line(sandbox::read_capped_log(log));
    // The guest's last line is in the log once the VMM is reaped.
    EXPECT_EQ(shim::last_line(sandbox::read_capped_log(log)),
              "kvrun-test-guest: console-flood done");
  }
  const auto rotated = sandbox::CappedLog::rotated_path(log);
  EXPECT_TRUE(std::filesystem::exists(rotated));
  EXPECT_LE(std::filesystem::file_size(log), kCap);
  EXPECT_LE(std::filesystem::file_size(rotated), kCap);
}

}  // namespace
}  // namespace kvrun::test
