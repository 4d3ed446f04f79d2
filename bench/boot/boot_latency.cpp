// boot-latency: starts a VMM command N times and measures, for each run, the time from just
// before spawning it to the moment a ready line appears on its stdout, its peak RSS
// (ru_maxrss from wait4, so the whole process lifetime counts, guest memory included) and,
// with --guest-mib, its RSS at the ready line split into guest RAM and the VMM's own overhead
// (from /proc/<pid>/smaps, see smaps.h).
//
//   boot-latency --runs N --ready TEXT [--timeout S] [--guest-mib M] -- COMMAND [ARGS...]
//
// Prints one line: "median_ms=<x> p95_ms=<y> max_rss_kib=<z>" (z: the largest over all runs),
// with --guest-mib followed by " overhead_kib=<o> guest_rss_kib=<g> ready_rss_kib=<o+g>
// guest_ram_by=<name|size>", all from the run with the largest overhead.
// Exits 1 with one line "boot-latency: ..." and the run's last output if a run fails.
// Deliberately standalone (no kvrun libraries): run.sh compiles it with one c++ call.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "smaps.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }
[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

// A spawned run; killed and reaped if abandoned.
class Run {
 public:
  explicit Run(const std::vector<std::string>& command) {
    int out[2];
    if (::pipe2(out, O_CLOEXEC) != 0) fail_errno("pipe2");
    Fd read_end(out[0]), write_end(out[1]);
    Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (null.get() < 0) fail_errno("open /dev/null");

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, null.get(), STDIN_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDERR_FILENO);
    std::vector<char*> argv;
    for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    start_ = Clock::now();
    int err = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    if (err != 0) {
      errno = err;
      fail_errno("spawn " + command[0]);
    }
    output_fd_ = std::move(read_end);
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  ~Run() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  // Milliseconds from spawn to `ready` on the output; fails after `timeout`.
  double wait_ready(const std::string& ready, std::chrono::seconds timeout) {
    const auto deadline = start_ + timeout;
    while (output_.find(ready) == std::string::npos) {
      if (!read_some(deadline))
        fail("no \"" + ready + "\" line " +
             (Clock::now() >= deadline ? "within " + std::to_string(timeout.count()) + " s"
                                       : std::string("before the output ended")) +
             "; last output:\n" + tail());
    }
    // read() may deliver the line late by at most one poll wakeup; good enough for ms.
    return std::chrono::duration<double, std::milli>(Clock::now() - start_).count();
  }

  // Memory at this moment: the process is stopped (SIGSTOP, and we wait until every thread is)
  // while smaps is read, so the guest can neither touch more RAM nor power off meanwhile.
  kvrun::bench::SmapsMemory sample_memory(uint64_t guest_bytes) {
    if (::kill(pid_, SIGSTOP) != 0) fail_errno("kill SIGSTOP");
    int status = 0;
    rusage usage{};
    while (::wait4(pid_, &status, WUNTRACED, &usage) < 0) {
      if (errno != EINTR) fail_errno("wait4");
    }
    if (!WIFSTOPPED(status)) {
      pid_ = -1;
      fail("exited right after the ready line, before its memory could be sampled");
    }
    const std::string path = "/proc/" + std::to_string(pid_) + "/smaps";
    std::ifstream file(path);
    std::ostringstream text;
    text << file.rdbuf();
    if (!file) fail("cannot read " + path);
    if (::kill(pid_, SIGCONT) != 0) fail_errno("kill SIGCONT");
    kvrun::bench::SmapsMemory memory = kvrun::bench::summarize_smaps(text.str(), guest_bytes);
    if (memory.guest_mappings == 0)
      fail("no guest RAM mapping in " + path + " (named " +
           std::string(kvrun::bench::kGuestRamVmaName) + " or anonymous of the guest size)");
    return memory;
  }

  // Waits for the process to end (it powers the guest off after the ready line); peak RSS.
  long wait_exit(std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (read_some(deadline)) {
    }
    for (;;) {
      int status = 0;
      rusage usage{};
      pid_t got = ::wait4(pid_, &status, WNOHANG, &usage);
      if (got < 0) fail_errno("wait4");
      if (got == pid_) {
        pid_ = -1;
        return usage.ru_maxrss;
      }
      if (Clock::now() >= deadline)
        fail("did not exit within " + std::to_string(timeout.count()) +
             " s after the ready line; last output:\n" + tail());
      ::usleep(10000);
    }
  }

 private:
  // False at EOF or deadline.
  bool read_some(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{output_fd_.get(), POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno != EINTR) fail_errno("poll");
    if (ready <= 0) return ready < 0;  // EINTR: try again; timeout: done
    char buf[4096];
    ssize_t n = ::read(output_fd_.get(), buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<size_t>(n));
    return true;
  }

  std::string tail() const {
    return output_.size() > 2000 ? output_.substr(output_.size() - 2000) : output_;
  }

  pid_t pid_ = -1;
  Clock::time_point start_;
  Fd output_fd_;
  std::string output_;
};

// Nearest-rank percentile of a sorted sample.
double percentile(const std::vector<double>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

double median(const std::vector<double>& sorted) {
  size_t n = sorted.size();
  return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 20;
  int timeout_s = 120;
  long guest_mib = 0;
  std::string ready;
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      command.assign(argv + i + 1, argv + argc);
      break;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "boot-latency: %s needs a value\n", arg.c_str());
      return 2;
    }
    if (arg == "--runs") {
      runs = std::atoi(argv[++i]);
    } else if (arg == "--ready") {
      ready = argv[++i];
    } else if (arg == "--timeout") {
      timeout_s = std::atoi(argv[++i]);
    } else if (arg == "--guest-mib") {
      guest_mib = std::atol(argv[++i]);
      if (guest_mib < 1) {
        std::fprintf(stderr, "boot-latency: --guest-mib must be positive\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "boot-latency: unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  if (runs < 1 || timeout_s < 1 || ready.empty() || command.empty()) {
    std::fprintf(stderr,
                 "usage: boot-latency --runs N --ready TEXT [--timeout S] [--guest-mib M] -- "
                 "COMMAND...\n");
    return 2;
  }

  std::vector<double> latencies;
  long max_rss_kib = 0;
  kvrun::bench::SmapsMemory worst;  // the run with the largest overhead
  for (int i = 0; i < runs; ++i) {
    try {
      Run run(command);
      latencies.push_back(run.wait_ready(ready, std::chrono::seconds(timeout_s)));
      if (guest_mib > 0) {
        kvrun::bench::SmapsMemory memory =
            run.sample_memory(static_cast<uint64_t>(guest_mib) << 20);
        if (i == 0 || memory.overhead_kib() > worst.overhead_kib()) worst = memory;
      }
      max_rss_kib = std::max(max_rss_kib, run.wait_exit(std::chrono::seconds(timeout_s)));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "boot-latency: %s: run %d of %d: %s\n", command[0].c_str(), i + 1, runs,
                   e.what());
      return 1;
    }
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf("median_ms=%.1f p95_ms=%.1f max_rss_kib=%ld", median(latencies),
              percentile(latencies, 95), max_rss_kib);
  if (guest_mib > 0) {
    std::printf(" overhead_kib=%llu guest_rss_kib=%llu ready_rss_kib=%llu guest_ram_by=%s",
                static_cast<unsigned long long>(worst.overhead_kib()),
                static_cast<unsigned long long>(worst.guest_rss_kib),
                static_cast<unsigned long long>(worst.rss_kib),
                worst.guest_found_by_name ? "name" : "size");
  }
  std::printf("\n");
  return 0;
}
