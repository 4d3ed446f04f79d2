// net-bench: TCP throughput between a guest and a network namespace over virtio-net, next to
// the same transfer over a veth pair between two namespaces, printed side by side.
//
//   kvrun-net-bench [--mib N] [--kernel PATH]
//
// virtio-net: namespace V holds tap kvt0 (10.209.5.1/24); the guest (10.209.5.2) runs `blast`
// to send N MiB to V and then receive N MiB from it. veth: namespaces A (10.209.6.1) and B
// (10.209.6.2) joined by a veth pair; `blast` in A sends N MiB to B and receives N MiB from
// it. In both cases the listener in the namespace times the stream from accept to the last
// byte, so the two columns are measured the same way. All addresses live inside namespaces
// this program creates and deletes; the host's interfaces and routes are never touched.
// Exit status: 0 measured, 1 a run failed (one line says why), 2 /dev/kvm unavailable.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <future>
#include <regex>
#include <string>
#include <vector>

#include "common/error.h"
#include "tests/unit/net/netns_fixture.h"
#include "tests/unit/net/tcp_peer.h"
#include "tests/vm/vm_test_env.h"

namespace {

using namespace std::chrono_literals;
using kvrun::test::Transfer;

double mb_per_s(const Transfer& t) {
  return static_cast<double>(t.bytes) / 1e6 / std::chrono::duration<double>(t.elapsed).count();
}

struct Result {
  Transfer to_ns;    // guest (or A) -> namespace
  Transfer from_ns;  // namespace -> guest (or A)
  std::string rtt;   // virtio-net only
};

Result run_virtio_net(const std::string& kernel, uint64_t bytes) {
  kvrun::test::TestNetns ns;
  ns.add_tap("kvt0", "10.209.5.1/24");
  kvrun::UniqueFd in = kvrun::test::listen_tcp(ns, "10.209.5.1", 5001);
  kvrun::UniqueFd out = kvrun::test::listen_tcp(ns, "10.209.5.1", 5002);
  const std::string zeros(256 * 1024, '\0');
  auto received = std::async(std::launch::async, [&] {
    return kvrun::test::receive_bytes(in.get(), bytes, 600s, /*keep_data=*/false);
  });
  auto sent = std::async(std::launch::async,
                         [&] { return kvrun::test::send_bytes(out.get(), zeros, bytes, 600s); });
  kvrun::test::ChildProcess vm = kvrun::test::run_vmm(
      {"--kernel", kernel, "--initrd", KVRUN_NET_BENCH_INITRAMFS, "--cmdline",
       "console=ttyS0 reboot=k panic=1 kvrun.addr=10.209.5.2/24 kvrun.peer=10.209.5.1 "
       "kvrun.bytes=" +
           std::to_string(bytes),
       "--memory", "512", "--timeout", "600", "--net", "tap=kvt0,netns=" + ns.path().string()},
      620s);
  if (!vm.status() || !vm.status()->exited || vm.status()->code != 0) {
    throw kvrun::Error("virtio-net guest failed (" +
                       (vm.status() ? vm.status()->describe() : std::string("running")) + "):\n" +
                       vm.stdout_text() + vm.stderr_text());
  }
  Result result{received.get(), sent.get(), "?"};
  std::smatch rtt;
  const std::string serial = vm.stdout_text();
  if (std::regex_search(serial, rtt, std::regex("min/avg/max = ([0-9./]+) ms")))
    result.rtt = rtt[1].str();
  return result;
}

Result run_veth(const std::string& blast, uint64_t bytes) {
  kvrun::test::TestNetns a;
  kvrun::test::TestNetns b;
  kvrun::test::add_veth(a, "10.209.6.1/24", b, "10.209.6.2/24");
  kvrun::UniqueFd in = kvrun::test::listen_tcp(b, "10.209.6.2", 5001);
  kvrun::UniqueFd out = kvrun::test::listen_tcp(b, "10.209.6.2", 5002);
  const std::string zeros(256 * 1024, '\0');
  Result result;
  auto received = std::async(std::launch::async, [&] {
    return kvrun::test::receive_bytes(in.get(), bytes, 600s, /*keep_data=*/false);
  });
  kvrun::test::run_command(
      a.exec_argv({blast, "send", "10.209.6.2", "5001", std::to_string(bytes)}));
  result.to_ns = received.get();
  auto sent = std::async(std::launch::async,
                         [&] { return kvrun::test::send_bytes(out.get(), zeros, bytes, 600s); });
  kvrun::test::run_command(
      a.exec_argv({blast, "recv", "10.209.6.2", "5002", std::to_string(bytes)}));
  result.from_ns = sent.get();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t mib = 256;
  std::string kernel;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mib" && i + 1 < argc) {
      mib = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--kernel" && i + 1 < argc) {
      kernel = argv[++i];
    } else {
      std::fprintf(stderr, "usage: kvrun-net-bench [--mib N] [--kernel PATH]\n");
      return 1;
    }
  }
  if (mib == 0) {
    std::fprintf(stderr, "net-bench: --mib must be at least 1\n");
    return 1;
  }
  if (const std::string why = kvrun::test::kvm_unavailable_reason(); !why.empty()) {
    std::fprintf(stderr, "net-bench: /dev/kvm unavailable: %s\n", why.c_str());
    return 2;
  }
  if (kernel.empty()) {
    std::string error;
    kernel = kvrun::test::guest_kernel_path(error);
    if (kernel.empty()) {
      std::fprintf(stderr, "net-bench: %s\n", error.c_str());
      return 1;
    }
  }
  const uint64_t bytes = mib << 20;
  try {
    const Result net = run_virtio_net(kernel, bytes);
    const Result veth = run_veth(KVRUN_BLAST_PATH, bytes);
    std::printf("TCP, one stream, %llu MiB each way, timed by the namespace's end\n",
                static_cast<unsigned long long>(mib));
    std::printf("%-20s %15s %15s %9s\n", "direction", "virtio-net", "veth", "net/veth");
    const auto row = [](const char* name, const Transfer& n, const Transfer& v) {
      std::printf("%-20s %10.1f MB/s %10.1f MB/s %8.0f%%\n", name, mb_per_s(n), mb_per_s(v),
                  100.0 * mb_per_s(n) / mb_per_s(v));
    };
    row("to the namespace", net.to_ns, veth.to_ns);
    row("from the namespace", net.from_ns, veth.from_ns);
    std::printf("virtio-net ping rtt min/avg/max: %s ms\n", net.rtt.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "net-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
