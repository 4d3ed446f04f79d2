// podman drives kvrun as it drives runc (conmon, --pid-file, --console-socket, exec --process,
// kill, delete --force), and each container runs in its own microVM. Asserted: output and exit
// codes as podman reports them, exec, signals, terminals, the engine's bind-mounted files
// (/etc/hosts, /etc/hostname) inside the VM, and nothing kvrun made left afterwards.
#include "podman_fixture.h"

namespace kvrun::e2e {
namespace {

TEST_F(PodmanTest, RunRmGivesOutputExitCodeAndTheEnginesFiles) {
  Result r =
      podman(run_args({"--rm", "--hostname", "kvrun-podman"},
                      {"sh", "-c",
                       "echo out; echo err >&2; echo host=$(cat /etc/hostname); "
                       "grep -q localhost /etc/hosts && echo hosts-ok; "
                       "echo shm=$(awk '$2 == \"/dev/shm\" {print $3}' /proc/mounts); exit 3"}));
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.out.find("out\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("err\n"), std::string::npos) << r.err;
  // podman bind-mounts these from its run root; kvrun copies them into the guest.
  EXPECT_NE(r.out.find("host=kvrun-podman\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hosts-ok\n"), std::string::npos) << "no localhost in /etc/hosts: " << r.out;
  // podman's /dev/shm bind (of a host tmpfs) is a tmpfs of the guest.
  EXPECT_NE(r.out.find("shm=tmpfs\n"), std::string::npos) << r.out;
  expect_nothing_left();
}

TEST_F(PodmanTest, DetachedRunExecKillAndForcedRemove) {
  Result started = podman(run_args(
      {"-d", "--name", "c1"}, {"sh", "-c", "trap 'exit 7' TERM; while :; do sleep 0.1; done"}));
  ASSERT_EQ(started.status, 0) << started.err;

  Result exec = podman({"exec", "c1", "sh", "-c", "echo in-exec; cat /proc/1/cmdline; exit 4"});
  EXPECT_EQ(exec.status, 4) << exec.err;
  EXPECT_EQ(exec.out.rfind("in-exec\nsh", 0), 0u) << exec.out;

  Result killed = podman({"kill", "--signal", "TERM", "c1"});
  EXPECT_EQ(killed.status, 0) << killed.err;
  Result waited = podman({"wait", "c1"});
  EXPECT_EQ(waited.status, 0) << waited.err;
  EXPECT_EQ(waited.out, "7\n") << "the init's trap decides the exit code";
  EXPECT_EQ(podman({"rm", "c1"}).status, 0);

  // rm -f of a running container: SIGKILL through kvrun, then delete --force.
  ASSERT_EQ(podman(run_args({"-d", "--name", "c2"}, {"sleep", "1000"})).status, 0);
  Result removed = podman({"rm", "--force", "c2"});
  EXPECT_EQ(removed.status, 0) << removed.err;
  expect_nothing_left();
}

TEST_F(PodmanTest, TtyGivesTheContainerATerminal) {
  // conmon passes --console-socket; kvrun sends it a host pty relayed to the guest's.
  Result r = podman(run_args({"--rm", "-t"}, {"sh", "-c", "tty; exit 2"}));
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\r\n"), std::string::npos) << "a terminal's line discipline: " << r.out;
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
