// virtio-vsock with our guest kernel: host-initiated streams through the Unix socket's CONNECT
// handshake and guest-initiated streams to <uds>_<port>, 100 at once each way, every byte
// checked on both ends (tests/guest-tools/vsock/xfer.h); a CONNECT to a port nobody listens
// on ends in EOF at once; and kvrun-vmm holds no more descriptors afterwards than before.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "tests/guest-tools/vsock/xfer.h"
#include "tests/vm/vm_test_env.h"

namespace kvrun::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kStreams = 100;
// Bytes each way per stream. Override with KVRUN_VSOCK_TEST_SIZE (e.g. 1048576 on real KVM).
uint64_t stream_size() {
  if (const char* s = std::getenv("KVRUN_VSOCK_TEST_SIZE")) return std::strtoull(s, nullptr, 10);
  return 1024 * 1024;
}

UniqueFd unix_socket_at(const fs::path& path, bool listen) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  if (listen) {
    if (::bind(fd.get(), sa, sizeof(addr)) != 0 || ::listen(fd.get(), SOMAXCONN) != 0) return {};
    // The jailed VMM connects as a uid of its own (docs/jail.md).
    if (::chmod(path.c_str(), 0666) != 0) return {};
  } else if (::connect(fd.get(), sa, sizeof(addr)) != 0) {
    return {};
  }
  return fd;
}

// The handshake reply: "OK <port>\n", or "" if the VMM closed the stream first.
std::string read_reply_line(int fd) {
  std::string line;
  char c;
  while (line.size() < 64 && ::read(fd, &c, 1) == 1) {
    line.push_back(c);
    if (c == '\n') break;
  }
  return line;
}

// A host client through the CONNECT handshake; retried while the guest refuses (EOF).
UniqueFd connect_to_guest(const fs::path& uds, unsigned port, std::string& error) {
  const auto deadline = Clock::now() + 30s;
  while (Clock::now() < deadline) {
    UniqueFd fd = unix_socket_at(uds, false);
    if (fd) {
      const std::string request = "CONNECT " + std::to_string(port) + "\n";
      if (vsock_xfer::write_all(fd.get(), request.data(), request.size()) &&
          read_reply_line(fd.get()).starts_with("OK ")) {
        return fd;
      }
    }
    std::this_thread::sleep_for(50ms);
  }
  error = "no OK for CONNECT " + std::to_string(port);
  return {};
}

size_t fd_count(pid_t pid) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"))
    ++n;
  return n;
}

class Failures {
 public:
  void add(const std::string& what) {
    std::lock_guard lock(mutex_);
    if (list_.size() < 10) list_.push_back(what);
    ++count_;
  }
  int count() const { return count_; }
  std::string text() const {
    std::string out;
    for (const auto& f : list_) out += f + "\n";
    return out;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> list_;
  std::atomic<int> count_{0};
};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

TEST(VirtioVsock, HundredStreamsEachWayWithChecksumsAndNoDescriptorLeft) {
  std::string kernel;
  KVRUN_REQUIRE_KVM_AND_GUEST_KERNEL(kernel);
  const uint64_t size = stream_size();

  // /tmp: Unix sockets do not work on the 9p file system the nested VM shares.
  const fs::path dir = fs::path("/tmp") / ("kvrun-vsock-" + unique_token());
  fs::create_directories(dir);
  const fs::path uds = dir / "v.sock";

  // Guest-initiated streams land here: accepted and served as they come.
  UniqueFd listener = unix_socket_at(fs::path(uds.string() + "_6000"), true);
  ASSERT_TRUE(listener);
  Failures guest_to_host;
  std::atomic<int> served{0};
  std::atomic<bool> stop{false};
  std::thread acceptor([&] {
    std::vector<std::thread> workers;
    const auto deadline = Clock::now() + 200s;
    for (int i = 0; i < kStreams && !stop;) {
      pollfd p{listener.get(), POLLIN, 0};
      if (Clock::now() > deadline) {
        guest_to_host.add("only " + std::to_string(i) + " guest streams arrived");
        break;
      }
      if (::poll(&p, 1, 100) <= 0) continue;
      int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++i;
      workers.emplace_back([fd, &guest_to_host, &served] {
        UniqueFd owned(fd);
        uint64_t bytes = 0;
        const std::string e = vsock_xfer::run_acceptor(owned.get(), bytes);
        if (!e.empty()) guest_to_host.add(e);
        ++served;
      });
    }
    for (auto& w : workers) w.join();
  });
  // However the test ends, the acceptor thread is stopped and joined (its streams end when
  // the VM does).
  struct Joiner {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Joiner() {
      stop = true;
      if (thread.joinable()) thread.join();
    }
  } joiner{stop, acceptor};

  ChildProcess vm = ChildProcess::spawn(
      {vmm_path(), "--kernel", kernel, "--initrd", KVRUN_VSOCK_INITRAMFS, "--cmdline",
       "console=ttyS0 reboot=k panic=1 quiet kvrun.mode=test kvrun.count=" +
           std::to_string(kStreams) + " kvrun.size=" + std::to_string(size),
       "--memory", "256", "--cpus", "2", "--timeout", "240", "--vsock",
       "cid=3,uds=" + uds.string()});
  const auto boot_start = Clock::now();
  ASSERT_TRUE(vm.wait_for_stdout("vsock-xfer: listening on 5000", 120s))
      << vm.stdout_text() << vm.stderr_text();
  std::printf("guest listening after %.1f s\n", seconds(Clock::now() - boot_start));
  const size_t fds_before = fd_count(vm.pid());

  // Nobody listens on 5999: the guest answers RST and the client reads EOF, no OK line.
  {
    UniqueFd probe = unix_socket_at(uds, false);
    ASSERT_TRUE(probe);
    const auto start = Clock::now();
    ASSERT_TRUE(vsock_xfer::write_all(probe.get(), "CONNECT 5999\n", 13));
    EXPECT_EQ(read_reply_line(probe.get()), "") << "a refused CONNECT must end in EOF";
    const double refused_ms = seconds(Clock::now() - start) * 1000;
    std::printf("refused CONNECT: EOF after %.1f ms\n", refused_ms);
    EXPECT_LT(refused_ms, 2000);
  }

  // Host -> guest: 100 clients at once.
  Failures host_to_guest;
  const auto h2g_start = Clock::now();
  std::vector<std::thread> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.emplace_back([&, i] {
      std::string e;
      UniqueFd fd = connect_to_guest(uds, 5000, e);
      if (fd) e = vsock_xfer::run_connector(fd.get(), size, 7 * i + 1);
      if (!e.empty()) host_to_guest.add("stream " + std::to_string(i) + ": " + e);
    });
  }
  // Keep the console pipe drained while the clients run; the guest reports when it is done.
  const bool served_all = vm.wait_for_stdout("vsock-xfer: served", 180s);
  EXPECT_TRUE(served_all) << vm.stdout_text() << vm.stderr_text();
  for (auto& c : clients) c.join();
  const double h2g_s = seconds(Clock::now() - h2g_start);
  EXPECT_EQ(host_to_guest.count(), 0) << host_to_guest.text();

  // Guest -> host: the guest connects once it has served all of ours.
  const auto g2h_start = Clock::now();
  EXPECT_TRUE(vm.wait_for_stdout("vsock-xfer: holding on 5001", 180s))
      << vm.stdout_text() << vm.stderr_text();
  if (acceptor.joinable()) acceptor.join();
  const double g2h_s = seconds(Clock::now() - g2h_start);
  EXPECT_EQ(served.load(), kStreams);
  EXPECT_EQ(guest_to_host.count(), 0) << guest_to_host.text();

  const double mib = 2.0 * kStreams * size / 1048576.0;
  std::printf("host->guest: %d streams x %llu B each way, %.1f MiB in %.1f s (%.2f MiB/s)\n",
              kStreams, static_cast<unsigned long long>(size), mib, h2g_s, mib / h2g_s);
  std::printf("guest->host: %d streams x %llu B each way, %.1f MiB in %.1f s (%.2f MiB/s)\n",
              kStreams, static_cast<unsigned long long>(size), mib, g2h_s, mib / g2h_s);

  // Every stream has ended on both sides: kvrun-vmm is back to its descriptors from before.
  size_t fds_after = fd_count(vm.pid());
  for (auto deadline = Clock::now() + 10s; fds_after != fds_before && Clock::now() < deadline;) {
    std::this_thread::sleep_for(100ms);
    fds_after = fd_count(vm.pid());
  }
  EXPECT_EQ(fds_after, fds_before) << "kvrun-vmm leaked descriptors";

  // Release the guest's barrier; it then ends the VM with status 0.
  std::string e;
  UniqueFd barrier = connect_to_guest(uds, 5001, e);
  EXPECT_TRUE(barrier) << e;
  barrier.reset();
  const auto status = vm.wait(120s);
  ASSERT_TRUE(status) << "kvrun-vmm did not exit";
  EXPECT_TRUE(status->exited && status->code == 0) << status->describe() << "\n"
                                                   << vm.stdout_text() << vm.stderr_text();
  // The jailed VMM may not remove its socket from our directory (docs/jail.md): we do.
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kvrun::test
