// Times container launches for bench/containers/run.sh: spawns a runtime's command, and
// reports when it started (wall clock, to line up with kvrun's log time stamps), when the first
// byte of its stdout arrived, when it exited, and the first line it printed. With --parallel N
// it starts N copies at once ("{}" in an argument becomes the copy's index) and reports the
// wall time until the last one exits. Standalone (no kvrun libraries) so run.sh builds it with
// one c++ call; output is one line of key=value pairs.
//
// Usage: launch-timer [--timeout SEC] [--parallel N] -- COMMAND [ARGS...]
// Exit status: 0 if every copy exited 0, 1 if one failed or timed out, 2 on bad usage.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

extern char** environ;

namespace {

int64_t now_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "launch-timer: %s\nusage: launch-timer [--timeout SEC] [--parallel N] -- "
               "COMMAND [ARGS...]\n",
               why);
  std::exit(2);
}

struct Launch {
  pid_t pid = -1;
  int out = -1;    // read end of the child's stdout, non-blocking
  int pidfd = -1;  // readable once the child has exited
  int64_t first_output_ns = -1;
  int64_t exit_ns = -1;
  int status = -1;
  std::string first_line;
  bool line_done = false;
};

// Spawns argv with "{}" replaced by `index`, stdin from /dev/null, stdout into a pipe, stderr
// inherited, in its own process group so that a timeout can kill all it started.
void spawn(const std::vector<std::string>& args, int index, Launch& launch) {
  std::vector<std::string> expanded = args;
  for (std::string& arg : expanded) {
    for (size_t at; (at = arg.find("{}")) != std::string::npos;) {
      arg.replace(at, 2, std::to_string(index));
    }
  }
  std::vector<char*> argv;
  for (std::string& arg : expanded) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) usage("pipe failed");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  int err = posix_spawnp(&launch.pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(pipe_fds[1]);
  if (err != 0) {
    std::fprintf(stderr, "launch-timer: %s: %s\n", argv[0], std::strerror(err));
    std::exit(1);
  }
  launch.out = pipe_fds[0];
  fcntl(launch.out, F_SETFL, O_NONBLOCK);
  launch.pidfd = static_cast<int>(syscall(SYS_pidfd_open, launch.pid, 0));
  if (launch.pidfd < 0) usage("pidfd_open failed (Linux 5.3 or later needed)");
}

// Keeps at most the first line (without control characters, so it fits a key=value line).
void take_output(Launch& launch, const char* data, size_t size, int64_t at) {
  if (launch.first_output_ns < 0) launch.first_output_ns = at;
  for (size_t i = 0; i < size && !launch.line_done; ++i) {
    char c = data[i];
    if (c == '\n' || launch.first_line.size() >= 200) {
      launch.line_done = true;
    } else if (c >= 0x20 && c < 0x7f && c != ' ') {
      launch.first_line += c;
    } else {
      launch.first_line += '_';
    }
  }
}

double ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

int main(int argc, char** argv) {
  int timeout_s = 600;
  int parallel = 0;  // 0: one launch, reported in full
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
    char* end = nullptr;
    long value = std::strtol(argv[i + 1], &end, 10);
    if (*end != '\0' || value < 1 || value > 100000) usage(("bad value for " + arg).c_str());
    if (arg == "--timeout") {
      timeout_s = static_cast<int>(value);
    } else if (arg == "--parallel") {
      parallel = static_cast<int>(std::min(value, 1000L));
    } else {
      usage(("unknown option " + arg).c_str());
    }
    ++i;
  }
  if (i >= argc) usage("no command");
  std::vector<std::string> args(argv + i, argv + argc);

  std::vector<Launch> launches(static_cast<size_t>(std::max(parallel, 1)));
  const int64_t start_realtime = now_ns(CLOCK_REALTIME);
  const int64_t start = now_ns(CLOCK_MONOTONIC);
  for (size_t n = 0; n < launches.size(); ++n) spawn(args, static_cast<int>(n), launches[n]);
  const int64_t deadline = start + int64_t{timeout_s} * 1000000000;

  size_t running = launches.size();
  bool timed_out = false;
  while (running > 0) {
    std::vector<pollfd> fds;
    for (Launch& launch : launches) {
      if (launch.out >= 0) fds.push_back({launch.out, POLLIN, 0});
      if (launch.exit_ns < 0) fds.push_back({launch.pidfd, POLLIN, 0});
    }
    int64_t left_ms = (deadline - now_ns(CLOCK_MONOTONIC)) / 1000000;
    if (left_ms <= 0) {
      timed_out = true;
      break;
    }
    if (poll(fds.data(), fds.size(), static_cast<int>(std::min<int64_t>(left_ms, 1000))) < 0 &&
        errno != EINTR)
      usage("poll failed");
    const int64_t at = now_ns(CLOCK_MONOTONIC);
    for (Launch& launch : launches) {
      // Output first: a child's last bytes count before its exit.
      while (launch.out >= 0) {
        char buffer[4096];
        ssize_t n = read(launch.out, buffer, sizeof buffer);
        if (n > 0) {
          take_output(launch, buffer, static_cast<size_t>(n), at);
          continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        close(launch.out);
        launch.out = -1;
      }
      int status = 0;
      if (launch.exit_ns < 0 && waitpid(launch.pid, &status, WNOHANG) == launch.pid) {
        launch.exit_ns = at;
        launch.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        --running;
      }
    }
  }
  if (timed_out) {
    for (Launch& launch : launches) {
      if (launch.exit_ns >= 0) continue;
      kill(-launch.pid, SIGKILL);
      waitpid(launch.pid, nullptr, 0);
    }
  }

  int failed = 0;
  int64_t last_exit = start;
  for (const Launch& launch : launches) {
    if (launch.out >= 0) close(launch.out);
    close(launch.pidfd);
    if (launch.status != 0) ++failed;
    last_exit = std::max(last_exit, launch.exit_ns);
  }
  const Launch& one = launches.front();
  if (parallel == 0) {
    std::printf(
        "start_realtime_ns=%lld total_ms=%.3f first_output_ms=%.3f status=%d%s "
        "first_line=%s\n",
        static_cast<long long>(start_realtime), timed_out ? -1.0 : ms(one.exit_ns - start),
        one.first_output_ns < 0 ? -1.0 : ms(one.first_output_ns - start), one.status,
        timed_out ? " timeout=1" : "", one.first_line.empty() ? "-" : one.first_line.c_str());
  } else {
    std::printf("parallel=%d wall_ms=%.3f failed=%d%s\n", parallel, ms(last_exit - start), failed,
                timed_out ? " timeout=1" : "");
  }
  return failed == 0 && !timed_out ? 0 : 1;
}
