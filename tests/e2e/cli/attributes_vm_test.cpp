// The runtime-spec 1.1 attributes the agent applies (spec/attributes.h), seen
// from a container in a VM sandbox: one boot, every field observed from inside.
#include "cli_fixture.h"

namespace kvrun::e2e {
namespace {

class CliVmAttributesTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    use_vm_sandbox(KVRUN_VMM_PATH, KVRUN_INITRD_PATH);
  }
};

// In the guest the node numbers name the guest's devices: 1:11 is its /dev/kmsg. The rule lets
// the container read it and not write it; the LSM label from an AppArmor host is accepted.
TEST_F(CliVmAttributesTest, AttributesAreAppliedInTheGuest) {
  const std::string script =
      "cat /proc/sys/kernel/domainname /proc/self/personality /proc/self/oom_score_adj; ionice; "
      "read -r s < /proc/self/stat; set -- ${s#*) }; shift 16; echo nice=$1; shift 21; "
      "echo policy=$2; tr -s ' ' < /proc/self/timens_offsets; "
      "stat -c '%A %u %g %t %T' /dev/klog; : < /dev/klog && echo read-opened; "
      "(: > /dev/klog) 2>/dev/null || echo write-refused";
  nlohmann::json patch = {
      {"domainname", "example.org"},
      {"process",
       {{"oomScoreAdj", 222},
        {"ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", 5}}},
        {"scheduler", {{"policy", "SCHED_BATCH"}, {"nice", 3}}},
        {"apparmorProfile", "cri-containerd.apparmor.d"}}},
      {"linux",
       {{"namespaces",
         {{{"type", "pid"}},
          {{"type", "mount"}},
          {{"type", "uts"}},
          {{"type", "ipc"}},
          {{"type", "time"}}}},
        {"timeOffsets", {{"boottime", {{"secs", 86400}}}}},
        {"personality", {{"domain", "LINUX32"}}},
        {"devices",
         {{{"path", "/dev/klog"},
           {"type", "c"},
           {"major", 1},
           {"minor", 11},
           {"fileMode", 0600},
           {"uid", 0},
           {"gid", 0}}}},
        {"resources",
         {{"devices",
           {{{"allow", false}, {"access", "rwm"}},
            {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "r"}}}}}}}}};
  auto dir = bundle("b", script, patch);
  Result r = kvrun({"run", "-b", dir.string(), "c1"}, {.input = "", .timeout_seconds = 90});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "example.org\n00000008\n222\nbest-effort: prio 5\nnice=3\npolicy=3\n"
            "monotonic 0 0\nboottime 86400 0\n"
            "crw------- 0 0 1 b\nread-opened\nwrite-refused\n");
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
