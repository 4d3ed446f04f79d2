// virtio-vsock flow control against the real kvrun-vmm, on /dev/kvm with a tiny test guest
// (vmm/test-guests/vsock-stream.c) that streams 256 MiB to a host listener as fast as the
// credit we advertise lets it. The host reads deliberately slower than the guest sends, so the
// VMM's per-stream buffer stays full the whole time: its RSS must not grow with the bytes
// streamed (before the fix it grew by every one of them), and every byte arrives in order.
//
// KVRUN_VSOCK_FLOW_VMM=<path> runs another kvrun-vmm binary (to measure an older build);
// KVRUN_VSOCK_FLOW_MIBPS=<n> paces the reader at n MiB/s instead, 0 not at all (a throughput
// figure: the guest is then the slower side and the RSS bound is not the point);
// KVRUN_VSOCK_FLOW_MIB=<n> streams n MiB instead of 256.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "tests/support/child_process.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kHostPort = 5000;
constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kDefaultStreamMiB = 256;
// The reader's pace: under what the guest sends (35-55 MiB/s on a busy 2-core PVM host), so
// the VMM's buffer for the stream stays full; 256 MiB take 16 s.
constexpr uint64_t kReaderMiBPerSecond = 16;
// "A few MiB" in the issue; 1 MiB here: the stream's buffer is 256 KiB (+260 KiB measured),
// and before the fix the growth was +4 to +7 MiB at this pace on a busy host, +25 MiB at 4 MiB/s.
constexpr uint64_t kMaxRssGrowthKiB = 1024;

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

uint64_t reader_bytes_per_second() {
  return env_or("KVRUN_VSOCK_FLOW_MIBPS", kReaderMiBPerSecond) * kMiB;
}

std::string vmm_binary() {
  if (const char* path = std::getenv("KVRUN_VSOCK_FLOW_VMM"); path != nullptr && *path != '\0')
    return path;
  return vmm_path();
}

// A field of /proc/<pid>/status in KiB ("VmRSS", "VmHWM"); 0 if the process is gone.
uint64_t status_kib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field + ":"))
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return 0;
}

UniqueFd listen_at(const fs::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd.get(), 4) != 0)
    return {};
  // The jailed VMM connects as a uid of its own (docs/jail.md).
  if (::chmod(path.c_str(), 0666) != 0) return {};
  return fd;
}

UniqueFd accept_within(int listener, std::chrono::milliseconds timeout) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
  return UniqueFd(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
}

class VsockFlowVm : public ::testing::Test {
 protected:
  void SetUp() override {
    KVRUN_REQUIRE_KVM();
    dir_ = fs::temp_directory_path() / unique_token();
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(VsockFlowVm, GuestStreamingIntoASlowReaderKeepsTheVmmsRssFlat) {
  const uint64_t stream_mib = env_or("KVRUN_VSOCK_FLOW_MIB", kDefaultStreamMiB);
  const fs::path uds = dir_ / "v.sock";
  UniqueFd listener = listen_at(uds.string() + "_" + std::to_string(kHostPort));
  ASSERT_TRUE(listener) << std::strerror(errno);
  ChildProcess vm = ChildProcess::spawn(
      {vmm_binary(), "--kernel", test_guest_path("vsock-stream"), "--memory", "64", "--timeout",
       "120", "--vsock", "cid=3,uds=" + uds.string(), "--cmdline",
       "vsock.port=" + std::to_string(kHostPort) + " vsock.mib=" + std::to_string(stream_mib)});
  UniqueFd stream = accept_within(listener.get(), 30s);
  ASSERT_TRUE(stream) << "the guest never connected";

  const uint64_t total = stream_mib * kMiB;
  // The baseline: the VM booted and connected, no byte streamed yet. The VMM's RSS is sampled
  // every MiB after it; the buffer for the stream fills within the first one.
  const uint64_t rss_before = status_kib(vm.pid(), "VmRSS");
  uint64_t received = 0, rss_peak = rss_before, hwm = 0, next_sample = kMiB;
  bool bytes_ok = true;
  std::vector<char> buf(64 * 1024);
  const uint64_t pace = reader_bytes_per_second();
  const auto start = Clock::now();
  while (received < total) {
    // Pace: never ahead of `pace` bytes a second.
    if (pace != 0)
      std::this_thread::sleep_until(start + std::chrono::microseconds(received * 1'000'000 / pace));
    pollfd p{stream.get(), POLLIN, 0};
    ASSERT_GT(::poll(&p, 1, 30'000), 0) << "stalled after " << received << " bytes";
    const ssize_t n = ::read(stream.get(), buf.data(), buf.size());
    ASSERT_GT(n, 0) << "the stream ended after " << received
                    << " bytes: " << (n < 0 ? std::strerror(errno) : "EOF");
    for (ssize_t i = 0; i < n && bytes_ok; ++i)
      bytes_ok = static_cast<uint8_t>(buf[i]) == (received + i) % 251;
    received += n;
    if (received >= next_sample) {
      rss_peak = std::max(rss_peak, status_kib(vm.pid(), "VmRSS"));
      hwm = std::max(hwm, status_kib(vm.pid(), "VmHWM"));
      next_sample += kMiB;
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  char eof;
  EXPECT_EQ(::read(stream.get(), &eof, 1), 0) << "more than the guest sent";
  const auto status = vm.wait(60s);
  std::printf(
      "kvrun-vmm RSS: %llu KiB connected, peak %llu KiB over %llu MiB streamed "
      "(+%lld KiB), VmHWM %llu KiB; reader %.1f s (%.0f MiB/s)\n",
      static_cast<unsigned long long>(rss_before), static_cast<unsigned long long>(rss_peak),
      static_cast<unsigned long long>(stream_mib),
      static_cast<long long>(rss_peak) - static_cast<long long>(rss_before),
      static_cast<unsigned long long>(hwm), seconds, stream_mib / seconds);
  ASSERT_TRUE(status && status->exited && status->code == 0)
      << (status ? status->describe() : "timed out") << "\nstdout: " << vm.stdout_text()
      << "\nstderr: " << vm.stderr_text();
  EXPECT_NE(vm.stdout_text().find(
                "kvrun-test-guest: vsock-stream sent=" + std::to_string(stream_mib) + "\n"),
            std::string::npos)
      << vm.stdout_text();
  EXPECT_TRUE(bytes_ok) << "the host read other bytes than the guest sent";
  ASSERT_GT(rss_before, 0u);
  EXPECT_LE(rss_peak - rss_before, kMaxRssGrowthKiB)
      << "kvrun-vmm's memory grew with the bytes streamed";
}

}  // namespace
}  // namespace kvrun::test
