// The runtime-spec 1.1 attributes runc 1.2 applies (domainname, personality, ioPriority,
// scheduler, oomScoreAdj, time namespace offsets, linux.devices), observed from inside a
// container; where the host's runc implements a field, the same spec through runc gives the
// same output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class AttributesAsRoot : public ContainerAsRoot {
 protected:
  // The same config through the host's runc ("" if there is none): stdout only.
  std::string run_runc(const std::string& id, nlohmann::json config) {
    if (::access("/usr/sbin/runc", X_OK) != 0) return "";
    auto bundle = dir_.path() / ("runc-" + id);
    std::filesystem::create_directories(bundle);
    config["root"]["path"] = rootfs_.string();
    std::ofstream(bundle / "config.json") << config.dump();
    std::string command = "/usr/sbin/runc --root " + (dir_.path() / "runc-state").string() +
                          " run --bundle " + bundle.string() + " kvrun-" + id + " 2>/dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return "";
    std::string out;
    char buffer[512];
    std::size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
    ::pclose(pipe);
    return out;
  }
};

TEST_F(AttributesAsRoot, DomainnameIsSetInTheUtsNamespace) {
  auto config = base_config({"cat", "/proc/sys/kernel/domainname", "/proc/sys/kernel/hostname"});
  config["domainname"] = "example.org";
  auto result = run("domainname", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "example.org\nkvrun-test\n");
}

TEST_F(AttributesAsRoot, PersonalityLinux32MakesUnameSayI686) {
  auto config = base_config({"/bin/sh", "-c", "cat /proc/self/personality; uname -m"});
  config["linux"]["personality"] = {{"domain", "LINUX32"}};
  auto result = run("personality32", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "00000008\ni686\n");
  config["linux"]["personality"] = {{"domain", "LINUX"}};
  EXPECT_EQ(run("personality64", config).out, "00000000\nx86_64\n");
}

TEST_F(AttributesAsRoot, PersonalityIsThatOfExecProcessesToo) {
  auto config = base_config({"sleep", "30"});
  config["linux"]["personality"] = {{"domain", "LINUX32"}};
  AgentClient client(agent_->socket_path());
  auto created = create(client, "personality-exec", config);
  ASSERT_TRUE(created.ok) << created.error;
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "personality-exec"}}).ok);
  auto reply = client.call("ExecProcess", {{"container_id", "personality-exec"},
                                           {"exec_id", "e1"},
                                           {"process", {{"args", {"uname", "-m"}}}}});
  ASSERT_TRUE(reply.ok) << reply.error;
  UniqueFd out = attach(agent_->socket_path(), "personality-exec", "e1", "stdout");
  EXPECT_EQ(read_all(out.get()), "i686\n");
}

TEST_F(AttributesAsRoot, IoPriorityIsTheProcesss) {
  auto config = base_config({"ionice"});
  config["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}, {"priority", 6}};
  auto result = run("ioprio-be", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "best-effort: prio 6\n");
  config["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 0}};
  EXPECT_EQ(run("ioprio-idle", config).out, "idle\n");
}

// /proc/self/stat: field 19 is nice, 40 rt_priority, 41 policy.
TEST_F(AttributesAsRoot, SchedulerPolicyNiceAndPriorityAreApplied) {
  auto config = base_config({"/bin/sh", "-c",
                             "read -r s < /proc/self/stat; set -- ${s#*) }; shift 16; echo $1; "
                             "shift 21; echo $1 $2"});
  config["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", 7}};
  auto result = run("sched-batch", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "7\n0 3\n");
  config["process"]["scheduler"] = {{"policy", "SCHED_RR"}, {"priority", 12}};
  result = run("sched-rr", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "0\n12 2\n");
}

TEST_F(AttributesAsRoot, OomScoreAdjIsAppliedAsInRunc) {
  auto config = base_config({"cat", "/proc/self/oom_score_adj"});
  config["process"]["oomScoreAdj"] = 321;
  auto result = run("oom", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "321\n");
  auto runc = run_runc("oom", config);
  if (!runc.empty()) {
    EXPECT_EQ(runc, result.out) << "runc differs";
  }
}

TEST_F(AttributesAsRoot, TimeNamespaceOffsetsShiftBoottimeAndMonotonic) {
  auto config =
      base_config({"/bin/sh", "-c",
                   "tr -s ' ' < /proc/self/timens_offsets; read -r up idle < /proc/uptime; "
                   "[ ${up%.*} -ge 864000 ] && echo shifted"});
  config["linux"]["namespaces"].push_back({{"type", "time"}});
  config["linux"]["timeOffsets"] = {{"monotonic", {{"secs", 7200}, {"nanosecs", 5}}},
                                    {"boottime", {{"secs", 864000}}}};
  auto result = run("timens", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out,
            "monotonic 7200 5\nboottime 864000 0\n"
            "shifted\n");
  // A time namespace without offsets is a plain new one.
  config["linux"].erase("timeOffsets");
  config["process"]["args"] = {"/bin/sh", "-c", "tr -s ' ' < /proc/self/timens_offsets"};
  EXPECT_EQ(run("timens0", config).out, "monotonic 0 0\nboottime 0 0\n");
}

TEST_F(AttributesAsRoot, TimeNamespaceIsJoinedByExec) {
  auto config = base_config({"sleep", "30"});
  config["linux"]["namespaces"].push_back({{"type", "time"}});
  config["linux"]["timeOffsets"] = {{"boottime", {{"secs", 864000}}}};
  AgentClient client(agent_->socket_path());
  auto created = create(client, "timens-exec", config);
  ASSERT_TRUE(created.ok) << created.error;
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "timens-exec"}}).ok);
  auto reply = client.call("ExecProcess",
                           {{"container_id", "timens-exec"},
                            {"exec_id", "e1"},
                            {"process",
                             {{"args", {"/bin/sh", "-c", "tr -s ' ' < /proc/self/timens_offsets"}},
                              {"env", {"PATH=/bin"}}}}});
  ASSERT_TRUE(reply.ok) << reply.error;
  UniqueFd out = attach(agent_->socket_path(), "timens-exec", "e1", "stdout");
  EXPECT_EQ(read_all(out.get()), "monotonic 0 0\nboottime 864000 0\n");
}

// /dev is sealed nodev: the spec's nodes open only because each is a mount of its own. Opening
// still needs the allow rule, as in runc; reading /dev/fuse before a FUSE mount is EPERM from
// the driver itself, which proves the open succeeded.
TEST_F(AttributesAsRoot, DevicesAreMadeWithTheirModeAndOwnerAndOpenWithARule) {
  if (!std::filesystem::exists("/dev/fuse")) GTEST_SKIP() << "no /dev/fuse on this host";
  auto config = base_config({"/bin/sh", "-c",
                             "stat -c '%A %u %g %t %T %n' /dev/fuse /dev/sub/fifo; "
                             "cat /dev/fuse 2>&1; echo rc=$?"});
  config["linux"]["devices"] = {{{"path", "/dev/fuse"},
                                 {"type", "c"},
                                 {"major", 10},
                                 {"minor", 229},
                                 {"fileMode", 0606},
                                 {"uid", 1},
                                 {"gid", 2}},
                                {{"path", "/dev/sub/fifo"}, {"type", "p"}, {"fileMode", 0600}}};
  auto denied = run("devices-denied", config);
  EXPECT_EQ(denied.exit_status, 0) << denied.err;
  EXPECT_NE(denied.out.find("cat: can't open '/dev/fuse': Operation not permitted"),
            std::string::npos)
      << denied.out;
  config["linux"]["resources"]["devices"] = {
      {{"allow", true}, {"type", "c"}, {"major", 10}, {"minor", 229}, {"access", "rw"}}};
  auto result = run("devices", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out,
            "crw----rw- 1 2 a e5 /dev/fuse\n"
            "prw------- 0 0 0 0 /dev/sub/fifo\n"
            "cat: read error: Operation not permitted\nrc=1\n");
  auto runc = run_runc("devices", config);
  if (!runc.empty()) {
    EXPECT_EQ(runc, result.out) << "runc differs";
  }
}

TEST_F(AttributesAsRoot, ADeviceReplacesTheDefaultNodeOfItsPath) {
  auto config = base_config({"/bin/sh", "-c", "ls -ln /dev/null | tr -s ' ' | cut -d' ' -f1,5,6"});
  config["linux"]["devices"] = {{{"path", "/dev/null"}, {"type", "c"}, {"major", 1}, {"minor", 5}}};
  auto result = run("devices-null", config);
  EXPECT_EQ(result.exit_status, 0) << result.err;
  EXPECT_EQ(result.out, "crw-rw-rw- 1, 5\n");
}

}  // namespace
}  // namespace kvrun::agent::test
