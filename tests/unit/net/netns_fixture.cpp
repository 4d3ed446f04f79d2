#include "tests/unit/net/netns_fixture.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "common/error.h"

extern char** environ;

namespace kvrun::test {
namespace {

std::string join(const std::vector<std::string>& argv) {
  std::string line;
  for (const std::string& arg : argv) line += (line.empty() ? "" : " ") + arg;
  return line;
}

// With `quiet`, the command's stdout and stderr go to /dev/null.
int spawn_and_wait(const std::vector<std::string>& argv, bool quiet = false) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (quiet) {
    ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    ::posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  pid_t pid = -1;
  const int err = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (err != 0) throw_errno(join(argv), err);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_errno("waitpid " + join(argv));
  }
  return status;
}

}  // namespace

void run_command(const std::vector<std::string>& argv) {
  const int status = spawn_and_wait(argv);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error("`" + join(argv) + "` failed (wait status " + std::to_string(status) + ")");
}

bool command_succeeds(const std::vector<std::string>& argv) {
  const int status = spawn_and_wait(argv, /*quiet=*/true);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

TestNetns::TestNetns() {
  static std::atomic<int> counter{0};
  name_ = "kvt-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  run_command({"ip", "netns", "add", name_});
  try {
    ip({"link", "set", "lo", "up"});
    // No IPv6: its router and multicast chatter would interleave with the frames tests expect.
    run_command(exec_argv({"sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                           "net.ipv6.conf.default.disable_ipv6=1"}));
  } catch (...) {
    spawn_and_wait({"ip", "netns", "del", name_});
    throw;
  }
}

TestNetns::~TestNetns() {
  // Best effort: a destructor must not throw, and the namespace name is unique to this run.
  try {
    spawn_and_wait({"ip", "netns", "del", name_});
  } catch (...) {
  }
}

void TestNetns::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"ip", "-n", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  run_command(argv);
}

std::vector<std::string> TestNetns::exec_argv(const std::vector<std::string>& command) const {
  std::vector<std::string> argv{"ip", "netns", "exec", name_};
  argv.insert(argv.end(), command.begin(), command.end());
  return argv;
}

void TestNetns::add_tap(const std::string& tap_name, const std::string& cidr) const {
  ip({"tuntap", "add", "mode", "tap", "name", tap_name});
  ip({"addr", "add", cidr, "dev", tap_name});
  ip({"link", "set", tap_name, "up"});
}

void add_veth(const TestNetns& a, const std::string& a_cidr, const TestNetns& b,
              const std::string& b_cidr) {
  // Created inside `a`, so the pair never appears in the caller's namespace.
  a.ip({"link", "add", "kvv0", "type", "veth", "peer", "name", "kvv1", "netns", b.name()});
  a.ip({"addr", "add", a_cidr, "dev", "kvv0"});
  b.ip({"addr", "add", b_cidr, "dev", "kvv1"});
  a.ip({"link", "set", "kvv0", "up"});
  b.ip({"link", "set", "kvv1", "up"});
}

}  // namespace kvrun::test
