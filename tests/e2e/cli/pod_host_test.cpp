// Pods with host sandboxes (label root): a pod's sandbox container brings up the agent, its
// members join it (the CRI annotations, oci/pod.h) and share its UTS and IPC namespaces, each
// with its own rootfs and lifecycle; bad members get one-line errors; nothing is left.
#include "cli_fixture.h"

namespace kvrun::e2e {
namespace {

using CliHostPodTest = CliTest;

TEST_F(CliHostPodTest, MembersJoinTheSandboxAndLeaveNothing) {
  auto patch = pod_patch("pod1", true);
  patch["hostname"] = "pod-one";
  auto pause = bundle("pause", "while :; do sleep 1; done", patch);
  ASSERT_EQ(kvrun({"run", "-d", "-b", pause.string(), "pod1"}).status, 0);
  EXPECT_EQ(state("pod1")["status"], "running");

  // Members: the pod's hostname and one IPC namespace, not the host paths their specs name
  // (members have no hostname of their own, as CRI makes them).
  auto member = pod_patch("pod1", false);
  member["hostname"] = nullptr;
  auto app = bundle("app", "while :; do sleep 1; done", member);
  ASSERT_EQ(kvrun({"run", "-d", "-b", app.string(), "app1"}).status, 0);
  ASSERT_EQ(kvrun({"run", "-d", "-b", app.string(), "app3"}).status, 0);
  Result in_app = kvrun(
      {"exec", "app1", "sh", "-c", "cat /proc/sys/kernel/hostname; readlink /proc/self/ns/ipc"});
  ASSERT_EQ(in_app.status, 0) << in_app.err;
  EXPECT_EQ(in_app.out.substr(0, in_app.out.find('\n')), "pod-one");
  Result in_other = kvrun({"exec", "app3", "readlink", "/proc/self/ns/ipc"});
  EXPECT_NE(in_app.out.find(in_other.out), std::string::npos)
      << "two members in different IPC namespaces: " << in_app.out << in_other.out;
  EXPECT_EQ(in_app.out.find(std::filesystem::read_symlink("/proc/self/ns/ipc").string()),
            std::string::npos)
      << "a member is in the host's IPC namespace";

  // A second member runs to its end on its own; the pod goes on.
  auto once = bundle("once", "echo member-output; exit 6", member);
  Result ran = kvrun({"run", "-b", once.string(), "app2"});
  EXPECT_EQ(ran.status, 6) << ran.err;
  EXPECT_EQ(ran.out, "member-output\n");
  EXPECT_EQ(state("pod1")["status"], "running");

  // Kill and delete a member: the sandbox and the other member stay.
  ASSERT_EQ(kvrun({"delete", "--force", "app1"}).status, 0);
  EXPECT_EQ(state("pod1")["status"], "running");
  EXPECT_EQ(state("app3")["status"], "running");
  ASSERT_EQ(kvrun({"delete", "--force", "app3"}).status, 0);
  ASSERT_EQ(kvrun({"delete", "--force", "pod1"}).status, 0);
  expect_nothing_left();
}

TEST_F(CliHostPodTest, MembersWithoutARunningSandboxAreRefused) {
  auto app = bundle("app", "true", pod_patch("nopod", false));
  Result missing = kvrun({"run", "-b", app.string(), "app1"});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find("pod sandbox nopod: no such container"), std::string::npos)
      << missing.err;

  // Not a pod's sandbox.
  auto plain = bundle("plain", "while :; do sleep 1; done");
  ASSERT_EQ(kvrun({"run", "-d", "-b", plain.string(), "nopod"}).status, 0);
  Result not_pod = kvrun({"run", "-b", app.string(), "app1"});
  EXPECT_EQ(not_pod.status, 1);
  EXPECT_NE(not_pod.err.find("pod sandbox nopod: not a pod's sandbox container"), std::string::npos)
      << not_pod.err;
  ASSERT_EQ(kvrun({"delete", "--force", "nopod"}).status, 0);
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
