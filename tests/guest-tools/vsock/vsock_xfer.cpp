// vsock-xfer: the guest side of the vsock VM test (static, runs from the test initramfs).
//
//   vsock-xfer listen PORT COUNT        accept COUNT streams on PORT, serve each (xfer.h) at once
//   vsock-xfer connect CID PORT COUNT SIZE
//                                       open COUNT streams to CID:PORT at once, SIZE bytes each
//   vsock-xfer hold PORT                accept one stream and wait for its EOF (a barrier)
//   vsock-xfer sink PORT                accept one stream, discard it to EOF, print MiB/s
//   vsock-xfer source CID PORT BYTES    one stream of BYTES zero bytes to CID:PORT, print MiB/s
//                                       (sink and source serve bench/io/vsock)
//
// Exit status 0 only if every stream passed; failures are printed one per line.
#include <linux/vm_sockets.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/guest-tools/vsock/xfer.h"

namespace {

std::mutex print_mutex;

void report(const std::string& what) {
  std::lock_guard lock(print_mutex);
  std::fprintf(stderr, "vsock-xfer: %s\n", what.c_str());
}

int listen_on(unsigned port, int backlog) {
  const int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = VMADDR_CID_ANY;
  addr.svm_port = port;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, backlog) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Linux gives a vsock connect() 2 s for the host's answer; a hundred at once in a nested,
// emulated VM on a busy machine can take longer than that without anything being wrong.
void allow_slow_connect(int fd) {
  timeval tv{60, 0};
  ::setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int do_listen(unsigned port, int count) {
  const int listener = listen_on(port, count);
  if (listener < 0) {
    report("listen on port " + std::to_string(port) + ": " + std::strerror(errno));
    return 1;
  }
  std::printf("vsock-xfer: listening on %u\n", port);
  std::fflush(stdout);
  std::atomic<int> failures{0};
  std::atomic<uint64_t> bytes{0};
  std::vector<std::thread> workers;
  std::chrono::steady_clock::time_point start;
  for (int i = 0; i < count; ++i) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      report(std::string("accept: ") + std::strerror(errno));
      ++failures;
      break;
    }
    if (i == 0) start = std::chrono::steady_clock::now();
    workers.emplace_back([fd, i, &failures, &bytes] {
      uint64_t size = 0;
      const std::string error = kvrun::vsock_xfer::run_acceptor(fd, size);
      ::close(fd);
      if (!error.empty()) {
        report("stream " + std::to_string(i) + ": " + error);
        ++failures;
      }
      bytes += 2 * size;
    });
  }
  for (auto& w : workers) w.join();
  ::close(listener);
  const double s = seconds_since(start);
  std::printf("vsock-xfer: served %d streams, %d failed, %.1f MiB in %.2f s (%.2f MiB/s)\n", count,
              failures.load(), bytes / 1048576.0, s, bytes / 1048576.0 / s);
  return failures ? 1 : 0;
}

int do_connect(unsigned cid, unsigned port, int count, uint64_t size) {
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    workers.emplace_back([=, &failures] {
      const int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_vm addr{};
      addr.svm_family = AF_VSOCK;
      addr.svm_cid = cid;
      addr.svm_port = port;
      std::string error;
      if (fd >= 0) allow_slow_connect(fd);
      if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        error = std::string("connect: ") + std::strerror(errno);
      else
        error = kvrun::vsock_xfer::run_connector(fd, size, 1000 + i);
      if (fd >= 0) ::close(fd);
      if (!error.empty()) {
        report("stream " + std::to_string(i) + ": " + error);
        ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  const double s = seconds_since(start);
  const double mib = 2.0 * count * size / 1048576.0;
  std::printf("vsock-xfer: %d streams to %u:%u, %d failed, %.1f MiB in %.2f s (%.2f MiB/s)\n",
              count, cid, port, failures.load(), mib, s, mib / s);
  return failures ? 1 : 0;
}

int do_hold(unsigned port) {
  const int listener = listen_on(port, 1);
  if (listener < 0) return 1;
  std::printf("vsock-xfer: holding on %u\n", port);
  std::fflush(stdout);
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return 1;
  char buf[64];
  while (::read(fd, buf, sizeof(buf)) > 0) {
  }
  ::close(fd);
  ::close(listener);
  return 0;
}

int do_sink(unsigned port) {
  const int listener = listen_on(port, 1);
  if (listener < 0) return 1;
  std::printf("vsock-xfer: sink on %u\n", port);
  std::fflush(stdout);
  const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) return 1;
  static char buf[1 << 20];
  uint64_t total = 0;
  const auto start = std::chrono::steady_clock::now();
  for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) total += static_cast<uint64_t>(n);
  const double s = seconds_since(start);
  ::close(fd);
  ::close(listener);
  std::printf("vsock-xfer: sink got %llu bytes in %.3f s (%.2f MiB/s)\n",
              static_cast<unsigned long long>(total), s, total / 1048576.0 / s);
  return 0;
}

int do_source(unsigned cid, unsigned port, uint64_t bytes) {
  const int fd = ::socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_vm addr{};
  addr.svm_family = AF_VSOCK;
  addr.svm_cid = cid;
  addr.svm_port = port;
  if (fd >= 0) allow_slow_connect(fd);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    report(std::string("connect: ") + std::strerror(errno));
    return 1;
  }
  static char buf[1 << 20];
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t left = bytes; left > 0;) {
    const size_t n = left < sizeof(buf) ? static_cast<size_t>(left) : sizeof(buf);
    if (!kvrun::vsock_xfer::write_all(fd, buf, n)) {
      report(std::string("write: ") + std::strerror(errno));
      return 1;
    }
    left -= n;
  }
  const double s = seconds_since(start);
  ::close(fd);
  std::printf("vsock-xfer: source sent %llu bytes in %.3f s (%.2f MiB/s)\n",
              static_cast<unsigned long long>(bytes), s, bytes / 1048576.0 / s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto num = [&](size_t i) { return std::strtoull(args.at(i).c_str(), nullptr, 10); };
  try {
    if (args.size() == 3 && args[0] == "listen") return do_listen(num(1), static_cast<int>(num(2)));
    if (args.size() == 5 && args[0] == "connect")
      return do_connect(num(1), num(2), static_cast<int>(num(3)), num(4));
    if (args.size() == 2 && args[0] == "hold") return do_hold(num(1));
    if (args.size() == 2 && args[0] == "sink") return do_sink(num(1));
    if (args.size() == 4 && args[0] == "source") return do_source(num(1), num(2), num(3));
  } catch (const std::exception& e) {
    report(e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: vsock-xfer listen PORT COUNT | connect CID PORT COUNT SIZE | hold PORT | "
               "sink PORT | source CID PORT BYTES\n");
  return 2;
}
