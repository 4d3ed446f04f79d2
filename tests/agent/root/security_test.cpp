// The security stage, observed from inside a container the way a user would check it.
#include <gtest/gtest.h>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class SecurityAsRoot : public ContainerAsRoot {};

// The line of /proc/self/status that starts with `field`, e.g. "CapEff:\t0000000000000021".
std::string status_line(const std::string& status, const std::string& field) {
  auto at = status.find(field + ":");
  if (at == std::string::npos) return "";
  return status.substr(at, status.find('\n', at) - at);
}

TEST_F(SecurityAsRoot, SeccompProfileMakesMkdirFailWithEperm) {
  auto config = base_config({"/bin/sh", "-c", "mkdir /tmp/denied; echo rc=$?; ls /tmp"});
  config["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
                                {"syscalls",
                                 {{{"names", {"mkdir", "mkdirat", "not_a_syscall"}},
                                   {"action", "SCMP_ACT_ERRNO"},
                                   {"errnoRet", 1}}}}};
  auto result = run("seccomp", config);
  EXPECT_EQ(result.out, "rc=1\n");
  EXPECT_NE(result.err.find("Operation not permitted"), std::string::npos) << result.err;
}

TEST_F(SecurityAsRoot, DroppedCapabilitiesAreGone) {
  auto config =
      base_config({"/bin/sh", "-c", "cat /proc/self/status; ip link set lo up; echo ip=$?"});
  for (const char* set : {"bounding", "effective", "permitted"}) {
    config["process"]["capabilities"][set] = {"CAP_CHOWN", "CAP_KILL"};
  }
  auto result = run("caps", config);
  EXPECT_EQ(status_line(result.out, "CapEff"), "CapEff:\t0000000000000021");
  EXPECT_EQ(status_line(result.out, "CapPrm"), "CapPrm:\t0000000000000021");
  EXPECT_EQ(status_line(result.out, "CapBnd"), "CapBnd:\t0000000000000021");
  EXPECT_EQ(status_line(result.out, "CapAmb"), "CapAmb:\t0000000000000000");
  EXPECT_EQ(result.out.find("ip=0"), std::string::npos) << result.out;
  EXPECT_NE(result.err.find("Operation not permitted"), std::string::npos) << result.err;
}

TEST_F(SecurityAsRoot, NetAdminWorksWhenGranted) {
  auto result = run_args("netadmin", {"/bin/sh", "-c", "ip link set lo up && echo ok"});
  EXPECT_EQ(result.out, "ok\n") << result.err;
}

TEST_F(SecurityAsRoot, NoNewPrivilegesIsVisible) {
  auto config = base_config({"cat", "/proc/self/status"});
  EXPECT_EQ(status_line(run("nnp0", config).out, "NoNewPrivs"), "NoNewPrivs:\t0");
  config["process"]["noNewPrivileges"] = true;
  EXPECT_EQ(status_line(run("nnp1", config).out, "NoNewPrivs"), "NoNewPrivs:\t1");
}

TEST_F(SecurityAsRoot, RlimitNofileIsApplied) {
  auto config = base_config({"/bin/sh", "-c", "grep 'Max open files' /proc/self/limits"});
  config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 123}, {"hard", 456}}};
  auto result = run("rlimit", config);
  EXPECT_NE(result.out.find("123                  456"), std::string::npos) << result.out;
}

TEST_F(SecurityAsRoot, MaskedPathsReadEmpty) {
  auto config =
      base_config({"/bin/sh", "-c", "wc -c < /proc/version; ls -A /sys/firmware | wc -l"});
  config["linux"]["maskedPaths"] = {"/proc/version", "/sys/firmware", "/proc/does-not-exist"};
  auto result = run("masked", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "0\n0\n") << result.err;
}

TEST_F(SecurityAsRoot, ReadonlyPathsRefuseWrites) {
  auto config =
      base_config({"/bin/sh", "-c", "touch /data/x; echo rc=$?; touch /tmp/y && echo tmp-ok"});
  config["mounts"].push_back({{"destination", "/data"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  config["linux"]["readonlyPaths"] = {"/data", "/proc/sys"};
  auto result = run("readonly", config);
  EXPECT_EQ(result.out, "rc=1\ntmp-ok\n");
  EXPECT_NE(result.err.find("Read-only file system"), std::string::npos) << result.err;
}

TEST_F(SecurityAsRoot, ReadonlyRootRefusesWrites) {
  auto config = base_config({"/bin/sh", "-c", "touch /newfile; echo rc=$?"});
  config["root"]["readonly"] = true;
  auto result = run("roroot", config);
  EXPECT_EQ(result.out, "rc=1\n");
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "newfile"));
}

TEST_F(SecurityAsRoot, RunsAsTheSpecUser) {
  auto config = base_config({"cat", "/proc/self/status"});
  config["process"]["user"] = {{"uid", 1000}, {"gid", 1001}, {"additionalGids", {2000, 2001}}};
  auto result = run("user", config);
  EXPECT_EQ(status_line(result.out, "Uid"), "Uid:\t1000\t1000\t1000\t1000");
  EXPECT_EQ(status_line(result.out, "Gid"), "Gid:\t1001\t1001\t1001\t1001");
  EXPECT_EQ(status_line(result.out, "Groups"), "Groups:\t2000 2001 ");
  // A non-root user keeps no capabilities across execve unless they are ambient.
  EXPECT_EQ(status_line(result.out, "CapEff"), "CapEff:\t0000000000000000");
}

TEST_F(SecurityAsRoot, AmbientCapabilitiesSurviveExecForANonRootUser) {
  auto config = base_config({"cat", "/proc/self/status"});
  config["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  config["process"]["capabilities"]["inheritable"] = {"CAP_KILL"};
  config["process"]["capabilities"]["ambient"] = {"CAP_KILL"};
  auto result = run("ambient", config);
  EXPECT_EQ(status_line(result.out, "CapEff"), "CapEff:\t0000000000000020");
  EXPECT_EQ(status_line(result.out, "CapAmb"), "CapAmb:\t0000000000000020");
}

TEST_F(SecurityAsRoot, SysctlsAreWrittenInTheContainersNamespaces) {
  auto config = base_config({"cat", "/proc/sys/net/ipv4/ip_forward"});
  config["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  EXPECT_EQ(run("sysctl", config).out, "1\n");
}

TEST_F(SecurityAsRoot, OomScoreAdjIsApplied) {
  auto config = base_config({"cat", "/proc/self/oom_score_adj"});
  config["process"]["oomScoreAdj"] = 500;
  EXPECT_EQ(run("oom", config).out, "500\n");
}

TEST_F(SecurityAsRoot, ResourcesWithoutControllersWarnInHostMode) {
  auto config = base_config({"true"});
  config["linux"]["resources"] = {{"memory", {{"limit", 64 << 20}}}, {"pids", {{"limit", 32}}}};
  EXPECT_EQ(run("limits", config).exit_status, 0);
  EXPECT_NE(agent_->log().find("container limits runs without cgroup limits (host mode)"),
            std::string::npos)
      << agent_->log();
}

// Until it execs, a container's init is a copy of the agent's memory, which holds every
// container's spec. Its startContainer hook (the init's child) runs in the container with the
// container's credentials, just as any later process there would: opening the init's
// /proc/<pid>/mem must fail (runc's CVE-2016-9962). It opened before the init was made
// non-dumpable.
TEST_F(SecurityAsRoot, ContainerCannotReadTheInitsMemoryBeforeExec) {
  auto config = base_config({"cat", "/tmp/mem"});
  const std::string probe =
      "if (exec 3</proc/$PPID/mem) 2>/dev/null; then echo readable; else echo refused; fi >/tmp/mem";
  config["hooks"]["startContainer"] = {{{"path", "/bin/sh"}, {"args", {"sh", "-c", probe}}}};
  auto result = run("memprobe", config);
  EXPECT_EQ(result.out, "refused\n") << result.err;
}

}  // namespace
}  // namespace kvrun::agent::test
