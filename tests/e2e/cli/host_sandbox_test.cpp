// The runc command surface end to end with host sandboxes (label root). What podman/conmon and
// containerd's shim depend on is asserted here: exit codes, the --pid-file process and its exit
// status, stdout flowing from `create`, runc's messages, the state JSON, and no leftovers.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "cli_fixture.h"
#include "tests/support/child_process.h"

namespace kvrun::e2e {
namespace {

pid_t read_pid(const std::filesystem::path& file) {
  std::ifstream in(file);
  pid_t pid = 0;
  in >> pid;
  return pid;
}

using CliHostTest = CliTest;

TEST_F(CliHostTest, RunGivesTheContainersOutputAndExitStatus) {
  auto dir = bundle("b", "echo out; echo err >&2; exit 3");
  Result r = kvrun({"run", "--bundle", dir.string(), "c1"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  expect_nothing_left();
}

TEST_F(CliHostTest, RunPassesStdinThroughToEof) {
  auto dir = bundle("b", "wc -c");
  Result r = kvrun({"run", "-b", dir.string(), "c1"}, {.input = std::string(100000, 'x')});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(r.out.find_first_not_of(' ')), "100000\n");
  expect_nothing_left();
}

TEST_F(CliHostTest, ContainerSeesItsOwnPidNamespaceAndHostname) {
  auto dir = bundle("b", "echo $$ $(cat /proc/sys/kernel/hostname)");
  Result r = kvrun({"run", "-b", dir.string(), "c1"});
  EXPECT_EQ(r.out, "1 kvrun-e2e\n") << r.err;
}

TEST_F(CliHostTest, ProcessUmaskApplies) {
  // podman sends process.user.umask with every container.
  auto dir = bundle("b", "umask", {{"process", {{"user", {{"umask", 077}}}}}});
  Result r = kvrun({"run", "-b", dir.string(), "c1"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0077\n");
}

TEST_F(CliHostTest, LifecycleCreateStartStateKillDelete) {
  auto dir =
      bundle("b", "echo started; trap 'echo got TERM; exit 7' TERM; while :; do sleep 0.1; done");
  auto pid_file = scratch_ / "pid";
  Result created =
      kvrun({"create", "--bundle", dir.string(), "--pid-file", pid_file.string(), "c1"});
  ASSERT_EQ(created.status, 0) << created.err;
  pid_t monitor = read_pid(pid_file);
  ASSERT_GT(monitor, 0);
  EXPECT_TRUE(process_exists(monitor));

  auto s = state("c1");
  EXPECT_EQ(s["status"], "created");
  EXPECT_EQ(s["pid"], monitor);
  EXPECT_EQ(s["id"], "c1");
  EXPECT_EQ(s["bundle"], dir.string());
  EXPECT_EQ(s["ociVersion"], "1.0.2");

  Result again = kvrun({"create", "--bundle", dir.string(), "c1"});
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("container with id c1 already exists"), std::string::npos) << again.err;

  ASSERT_EQ(kvrun({"start", "c1"}).status, 0);
  EXPECT_EQ(state("c1")["status"], "running");
  Result restart = kvrun({"start", "c1"});
  EXPECT_EQ(restart.status, 1);

  Result busy = kvrun({"delete", "c1"});
  EXPECT_EQ(busy.status, 1);
  EXPECT_NE(busy.err.find("not stopped"), std::string::npos) << busy.err;

  // The trap needs the shell to be running its loop.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(kvrun({"kill", "c1", "TERM"}).status, 0);
  // The --pid-file process exits with the container's status, as conmon expects.
  EXPECT_EQ(wait_status(monitor), 7);
  EXPECT_EQ(state("c1")["status"], "stopped");
  EXPECT_EQ(state("c1")["pid"], 0);
  Result late_kill = kvrun({"kill", "c1", "KILL"});
  EXPECT_EQ(late_kill.status, 1);
  EXPECT_NE(late_kill.err.find("container not running"), std::string::npos);

  ASSERT_EQ(kvrun({"delete", "c1"}).status, 0);
  Result gone = kvrun({"state", "c1"});
  EXPECT_EQ(gone.status, 1);
  EXPECT_NE(gone.err.find("container does not exist"), std::string::npos) << gone.err;
  expect_nothing_left();
}

TEST_F(CliHostTest, StdoutFlowsFromTheFdsCreateWasGiven) {
  auto dir = bundle("b", "echo from-the-container");
  auto out_file = scratch_ / "create.out";
  pid_t create = ::fork();
  if (create == 0) {
    int fd = ::open(out_file.c_str(), O_WRONLY | O_CREAT, 0600);
    ::dup2(fd, 1);
    ::execl(KVRUN_CLI_PATH, KVRUN_CLI_PATH, "--root", root_.c_str(), "--sandbox", "host", "create",
            "-b", dir.c_str(), "--pid-file", (scratch_ / "pid").c_str(), "c1", nullptr);
    ::_exit(127);
  }
  ASSERT_EQ(wait_status(create), 0);
  ASSERT_EQ(kvrun({"start", "c1"}).status, 0);
  EXPECT_EQ(wait_status(read_pid(scratch_ / "pid")), 0);
  std::ifstream in(out_file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "from-the-container\n");
  ASSERT_EQ(kvrun({"delete", "c1"}).status, 0);
  expect_nothing_left();
}

TEST_F(CliHostTest, ExecRunsInTheContainerWithItsOwnStatus) {
  auto dir = bundle("b", "while :; do sleep 0.1; done");
  ASSERT_EQ(kvrun({"create", "-b", dir.string(), "c1"}).status, 0);
  Result early = kvrun({"exec", "c1", "true"});
  EXPECT_EQ(early.status, 255);  // not started yet; 255 as runc: the exec did not run
  ASSERT_EQ(kvrun({"start", "c1"}).status, 0);

  Result r = kvrun({"exec", "c1", "sh", "-c", "echo $(cat /proc/sys/kernel/hostname) $$; exit 5"});
  EXPECT_EQ(r.status, 5) << r.err;
  EXPECT_EQ(r.out.substr(0, 10), "kvrun-e2e ");
  EXPECT_EQ(kvrun({"exec", "c1", "cat"}, {.input = "piped"}).out, "piped");

  // --process with an OCI process object, detached, with a pid file whose process exits with
  // the exec'd process's status.
  std::ofstream(scratch_ / "process.json")
      << R"({"args": ["/bin/sh", "-c", "exit 4"], "cwd": "/", "env": ["PATH=/bin"]})";
  Result detached = kvrun({"exec", "--process", (scratch_ / "process.json").string(), "--detach",
                           "--pid-file", (scratch_ / "exec.pid").string(), "c1"});
  ASSERT_EQ(detached.status, 0) << detached.err;
  EXPECT_EQ(wait_status(read_pid(scratch_ / "exec.pid")), 4);

  Result missing = kvrun({"exec", "c1", "/bin/nonexistent"});
  EXPECT_NE(missing.status, 0);

  ASSERT_EQ(kvrun({"delete", "--force", "c1"}).status, 0);
  expect_nothing_left();
}

TEST_F(CliHostTest, ForegroundRunForwardsSignals) {
  auto dir = bundle("b", "trap 'exit 9' INT; echo ready > /tmp/ready; while :; do sleep 0.1; done");
  pid_t run = spawn_kvrun({"run", "-b", dir.string(), "c1"});
  ASSERT_TRUE(wait_until([&] { return std::filesystem::exists(rootfs_ / "tmp/ready"); }, 10000));
  ::kill(run, SIGINT);
  EXPECT_EQ(wait_status(run), 9);
  std::filesystem::remove(rootfs_ / "tmp/ready");
  expect_nothing_left();
}

TEST_F(CliHostTest, DetachedRunThenForceDelete) {
  auto dir = bundle("b", "while :; do sleep 0.1; done");
  Result r =
      kvrun({"run", "-d", "-b", dir.string(), "--pid-file", (scratch_ / "pid").string(), "c1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(state("c1")["status"], "running");
  Result list = kvrun({"list", "--format", "json"});
  auto all = nlohmann::json::parse(list.out);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["id"], "c1");
  EXPECT_EQ(kvrun({"list", "-q"}).out, "c1\n");
  ASSERT_EQ(kvrun({"delete", "-f", "c1"}).status, 0);
  expect_nothing_left();
}

// This host's agent has no cgroup controllers to limit with: update says so in one line (the
// limits themselves are checked in VMs, CliVmTest).
TEST_F(CliHostTest, UpdateErrorsAreOneLine) {
  EXPECT_NE(kvrun({"update", "-r", "-", "nope"}, {.input = "{}"}).err.find("does not exist"),
            std::string::npos);
  auto dir = bundle("b", "while :; do sleep 0.1; done");
  ASSERT_EQ(kvrun({"run", "-d", "-b", dir.string(), "c1"}).status, 0);
  Result missing = kvrun({"update", "c1"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("--resources FILE (or - for stdin) is required"), std::string::npos)
      << missing.err;
  Result limited = kvrun({"update", "-r", "-", "c1"}, {.input = R"({"pids": {"limit": 9}})"});
  EXPECT_EQ(limited.status, 1);
  EXPECT_NE(limited.err.find("cgroup"), std::string::npos) << limited.err;
  EXPECT_EQ(std::count(limited.err.begin(), limited.err.end(), '\n'), 1) << limited.err;
  ASSERT_EQ(kvrun({"delete", "-f", "c1"}).status, 0);
  expect_nothing_left();
}

TEST_F(CliHostTest, PsListsTheContainersProcessesAndKillAllReachesThemAll) {
  // The comment puts a terminal escape into the init's argv.
  auto dir = bundle("b", "sleep 1000 & sleep 1001 & wait # \x1b]0;owned\x07");
  auto pid_file = scratch_ / "pid";
  ASSERT_EQ(kvrun({"run", "-d", "-b", dir.string(), "--pid-file", pid_file.string(), "c1"}).status,
            0);
  // Waits for the sleeps' argv: a forked background job shows sh's until it execs.
  Result table;
  ASSERT_TRUE(wait_until(
      [&] {
        table = kvrun({"ps", "c1"});
        return table.out.find("sleep 1000\n") != std::string::npos &&
               table.out.find("sleep 1001\n") != std::string::npos;
      },
      5000))
      << table.out;
  EXPECT_EQ(table.out.rfind("PID", 0), 0u) << table.out;
  // A process sets its own argv: the ESC a container put there is shown escaped, never sent to
  // the operator's terminal.
  EXPECT_EQ(table.out.find('\x1b'), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("sh -c"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("\\x1b]0;owned\\x07"), std::string::npos) << table.out;
  auto pids = nlohmann::json::parse(kvrun({"ps", "--format", "json", "c1"}).out, nullptr, false);
  ASSERT_TRUE(pids.is_array()) << pids;
  EXPECT_EQ(pids.size(), 3u) << pids;
  for (const auto& pid : pids) EXPECT_TRUE(pid.is_number_integer()) << pids;

  // The init is PID 1 of its namespace and has no TERM handler: TERM to it alone does nothing.
  ASSERT_EQ(kvrun({"kill", "c1", "TERM"}).status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(state("c1")["status"], "running");
  // --all reaches the sleeps; `wait` returns and the init exits.
  ASSERT_EQ(kvrun({"kill", "--all", "c1", "TERM"}).status, 0);
  EXPECT_EQ(wait_status(read_pid(pid_file)), 0);
  ASSERT_EQ(kvrun({"delete", "c1"}).status, 0);
  expect_nothing_left();
}

TEST_F(CliHostTest, KilledMonitorMeansStoppedAndDeleteCleansUp) {
  auto dir = bundle("b", "while :; do sleep 0.1; done");
  ASSERT_EQ(
      kvrun({"run", "-d", "-b", dir.string(), "--pid-file", (scratch_ / "pid").string(), "c1"})
          .status,
      0);
  pid_t monitor = read_pid(scratch_ / "pid");
  ::kill(monitor, SIGKILL);
  EXPECT_EQ(wait_status(monitor), 128 + SIGKILL);
  EXPECT_EQ(state("c1")["status"], "stopped");
  // The sandbox died with its monitor (and the container with the sandbox's PID namespace).
  EXPECT_TRUE(wait_until([&] { return leftover_processes().empty(); }, 5000));
  ASSERT_EQ(kvrun({"delete", "c1"}).status, 0);
  expect_nothing_left();
}

TEST_F(CliHostTest, BadConfigIsOneLineNamingTheFieldAndLeavesNothing) {
  auto dir = bundle("b", "true", {{"process", {{"args", nlohmann::json::array()}}}});
  Result r = kvrun({"create", "-b", dir.string(), "c1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("config.json: process.args: must be a non-empty array"), std::string::npos)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  expect_nothing_left();

  auto missing_rootfs = bundle("b2", "true", {{"root", {{"path", "nope"}}}});
  r = kvrun({"run", "-b", missing_rootfs.string(), "c1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("config.json: root.path: "), std::string::npos) << r.err;
  expect_nothing_left();
}

TEST_F(CliHostTest, AgentRefusalIsReportedAndLeavesNothing) {
  // The host accepts the config; the agent refuses it (a sysctl name that walks out of
  // /proc/sys).
  auto dir = bundle("b", "true", {{"linux", {{"sysctl", {{"../x", "1"}}}}}});
  Result r = kvrun({"run", "-b", dir.string(), "c1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("config.linux.sysctl.../x: is not a valid sysctl name"), std::string::npos)
      << r.err;
  expect_nothing_left();
}

TEST_F(CliHostTest, RelativeRootPathsAreTheBundlesAsInRunc) {
  // root.path "." makes the bundle directory itself the rootfs; "fs" is <bundle>/fs.
  for (const std::string root : {".", "fs"}) {
    auto dir = bundle("rel" + std::to_string(root.size()), "cat /marker");
    auto rootfs = root == "." ? dir : dir / root;
    std::filesystem::copy(rootfs_, rootfs,
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::copy_symlinks |
                              std::filesystem::copy_options::overwrite_existing);
    std::ofstream(rootfs / "marker") << "root " << root << "\n";
    auto config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
    config["root"]["path"] = root;
    std::ofstream(dir / "config.json") << config.dump();
    Result r = kvrun({"run", "-b", dir.string(), "c1"});
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "root " + root + "\n") << r.err;
  }
  expect_nothing_left();
}

TEST_F(CliHostTest, VmSandboxRefusesJoiningAHostNamespaceByPathBeforeItBoots) {
  // Inside the guest /proc/1/ns/ipc is the agent's: joining it would be a silent wrong answer.
  nlohmann::json namespaces = {{{"type", "pid"}},
                               {{"type", "mount"}},
                               {{"type", "network"}, {"path", "/proc/self/ns/net"}},
                               {{"type", "ipc"}, {"path", "/proc/1/ns/ipc"}}};
  auto dir = bundle("b", "true", {{"linux", {{"namespaces", namespaces}}}});
  use_vm_sandbox("/nonexistent/kvrun-vmm", "/nonexistent/initrd");  // never reached
  Result r = kvrun({"create", "-b", dir.string(), "c1"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("config.json: linux.namespaces[3].path: a VM sandbox cannot join the "
                       "host's ipc namespace"),
            std::string::npos)
      << r.err;
  expect_nothing_left();
}

TEST_F(CliHostTest, VmSandboxRefusesHostBindMountsNamingTheMount) {
  auto dir = bundle("b", "true",
                    {{"mounts",
                      {{{"destination", "/data"},
                        {"type", "bind"},
                        {"source", "/srv"},
                        {"options", {"rbind"}}}}}});
  std::vector<std::string> args = {KVRUN_CLI_PATH, "--root", root_.string(), "--sandbox", "vm",
                                   "create",       "-b",     dir.string(),   "c1"};
  std::string command;
  for (const auto& a : args) command += "'" + a + "' ";
  FILE* pipe = ::popen((command + "2>&1").c_str(), "r");
  char line[512] = {};
  ASSERT_NE(std::fgets(line, sizeof line, pipe), nullptr);
  EXPECT_NE(::pclose(pipe), 0);
  EXPECT_NE(
      std::string(line).find("mounts[0] (/data): bind mounts of host directories and devices are "
                             "not supported in a VM sandbox (source /srv)"),
      std::string::npos)
      << line;
  expect_nothing_left();
}

TEST_F(CliHostTest, JsonLogLinesForEngines) {
  auto log = scratch_ / "log.json";
  Result r = kvrun({"--log", log.string(), "--log-format", "json", "state", "nope"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("container does not exist"), std::string::npos);
  std::ifstream in(log);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  auto json = nlohmann::json::parse(line);
  EXPECT_EQ(json["level"], "error");
  EXPECT_EQ(json["msg"], "container does not exist");
  EXPECT_TRUE(json["time"].is_string());
  // The failure's code, which the containerd shim maps to a ttrpc status (docs/cli.md "Errors"):
  // an error without one is internal, with runc's exit status all the same.
  EXPECT_EQ(json["code"], "not_found");
  Result usage = kvrun({"--log", log.string(), "--log-format", "json", "update", "nope"});
  EXPECT_EQ(usage.status, 1);
  std::ifstream again(log);
  ASSERT_TRUE(std::getline(again, line) && std::getline(again, line));
  json = nlohmann::json::parse(line);
  EXPECT_EQ(json["code"], "internal") << line;
}

TEST_F(CliHostTest, VersionAndUsageErrors) {
  Result version = kvrun({"--version"});
  EXPECT_EQ(version.status, 0);
  EXPECT_EQ(version.out.rfind("kvrun version ", 0), 0u) << version.out;
  EXPECT_NE(version.out.find("spec: 1.0.2"), std::string::npos);
  EXPECT_NE(kvrun({"kill", "c1", "NOTASIGNAL"}).status, 0);
  EXPECT_NE(kvrun({"frobnicate"}).status, 0);
}

}  // namespace
}  // namespace kvrun::e2e

namespace kvrun::e2e {
namespace {

// Receives the console fd that `create --console-socket` sends, as conmon does.
int receive_console(int listener) {
  int connection = ::accept(listener, nullptr, nullptr);
  char name[128];
  iovec data{name, sizeof name};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr message{};
  message.msg_iov = &data;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  int fd = -1;
  if (::recvmsg(connection, &message, 0) > 0 && CMSG_FIRSTHDR(&message) != nullptr)
    std::memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&message)), sizeof fd);
  ::close(connection);
  return fd;
}

// A terminal process with a devpts of its own for the guest-side pty.
const nlohmann::json kTerminalConfig = {
    {"process", {{"terminal", true}}},
    {"mounts",
     {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"newinstance", "ptmxmode=0666"}}}}}};

class CliHostTerminalTest : public CliTest {
 protected:
  // `kvrun create c1` from `dir` with --console-socket and --pid-file, as an engine does;
  // returns the pty master kvrun sent over the socket, or -1 (after a failed expectation).
  int create_with_console(const std::filesystem::path& dir, const std::filesystem::path& pid_file) {
    auto socket_path = scratch_ / "console.sock";
    int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strcpy(address.sun_path, socket_path.c_str());
    bool listening = ::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                     ::listen(listener, 1) == 0;
    EXPECT_TRUE(listening) << socket_path << ": " << std::strerror(errno);
    Result created = kvrun({"create", "-b", dir.string(), "--console-socket", socket_path.string(),
                            "--pid-file", pid_file.string(), "c1"});
    EXPECT_EQ(created.status, 0) << created.err;
    int console = listening && created.status == 0 ? receive_console(listener) : -1;
    ::close(listener);
    return console;
  }
};

TEST_F(CliHostTerminalTest, TerminalGoesToTheConsoleSocket) {
  auto dir = bundle("b", "tty; read x; echo got $x; exit 4", kTerminalConfig);
  std::filesystem::create_symlink("busybox", rootfs_ / "bin/tty");
  auto pid_file = scratch_ / "pid";
  int console = create_with_console(dir, pid_file);
  ASSERT_GE(console, 0);
  ASSERT_EQ(kvrun({"start", "c1"}).status, 0);
  ASSERT_EQ(::write(console, "abc\r", 4), 4);
  pid_t monitor = read_pid(pid_file);
  EXPECT_EQ(wait_status(monitor), 4);
  std::string text;
  char buffer[256];
  pollfd fd{console, POLLIN, 0};
  while (::poll(&fd, 1, 200) > 0) {
    ssize_t n = ::read(console, buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(console);
  // The guest-side pty's own line discipline: CRLF, the echoed input, a /dev/pts name.
  EXPECT_NE(text.find("/dev/pts/"), std::string::npos) << text;
  EXPECT_NE(text.find("got abc\r\n"), std::string::npos) << text;
  ASSERT_EQ(kvrun({"delete", "c1"}).status, 0);
  expect_nothing_left();
}

TEST_F(CliHostTerminalTest, TerminalNobodyReadsDoesNotKeepTheMonitorAlive) {
  // An engine that holds the console but stops reading it: the container's output fills the
  // host pty, and the monitor's copy into it must still give way once the container is killed.
  auto dir =
      bundle("b", "while :; do echo 0123456789abcdef0123456789abcdef; done", kTerminalConfig);
  auto pid_file = scratch_ / "pid";
  int console = create_with_console(dir, pid_file);
  ASSERT_GE(console, 0);
  ASSERT_EQ(kvrun({"start", "c1"}).status, 0);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // the pty fills up; nobody reads it
  ASSERT_EQ(kvrun({"kill", "c1", "KILL"}).status, 0);
  pid_t monitor = read_pid(pid_file);
  auto status = test::wait_for_process(monitor, std::chrono::seconds(20));
  EXPECT_FALSE(status.killed_after_deadline) << "the monitor hung on the unread terminal";
  EXPECT_EQ(status.shell_status(), 128 + SIGKILL) << status.describe();
  ::close(console);
  ASSERT_EQ(kvrun({"delete", "c1"}).status, 0);
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
