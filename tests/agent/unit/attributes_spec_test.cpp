// Decoding of the runtime-spec 1.1 attributes (spec/attributes.h) and the fields around them in
// spec::parse_container_spec: each value kvrun applies, and each bad one named by its path.
#include <gtest/gtest.h>
#include <sys/personality.h>

#include "agent/container/lsm_labels.h"
#include "agent_harness.h"
#include "common/error.h"
#include "spec/attributes.h"

namespace kvrun::agent {
namespace {

using test::spec_error;

nlohmann::json config() { return test::base_config({"/bin/true"}); }

TEST(AttributesSpec, DomainnameNeedsAUtsNamespaceAndFitsUtsname) {
  auto c = config();
  c["domainname"] = "example.org";
  EXPECT_EQ(spec::parse_container_spec(c).domainname, "example.org");
  c["domainname"] = std::string(65, 'x');
  EXPECT_EQ(spec_error(c), "config.domainname: longer than 64 bytes");
  c["domainname"] = 7;
  EXPECT_EQ(spec_error(c), "config.domainname: expected a string");
  c = config();
  c.erase("hostname");
  c["domainname"] = "example.org";
  c["linux"]["namespaces"] = {{{"type", "mount"}}};
  EXPECT_EQ(spec_error(c), "config.domainname: setting a domainname needs a uts namespace");
}

TEST(AttributesSpec, PersonalityDomains) {
  auto c = config();
  c["linux"]["personality"] = {{"domain", "LINUX32"}};
  EXPECT_EQ(spec::parse_container_spec(c).linux_spec.personality, PER_LINUX32);
  c["linux"]["personality"] = {{"domain", "LINUX"}, {"flags", {"WHATEVER"}}};  // logged, ignored
  EXPECT_EQ(spec::parse_container_spec(c).linux_spec.personality, PER_LINUX);
  EXPECT_FALSE(spec::parse_container_spec(config()).linux_spec.personality);
  c["linux"]["personality"] = {{"domain", "LINUX64"}};
  EXPECT_EQ(spec_error(c),
            "config.linux.personality.domain: unknown domain \"LINUX64\" (LINUX or LINUX32)");
  c["linux"]["personality"] = nlohmann::json::object();
  EXPECT_EQ(spec_error(c), "config.linux.personality.domain: required field is missing");
  c["linux"]["personality"] = {{"domain", "LINUX"}, {"flags", {1}}};
  EXPECT_EQ(spec_error(c), "config.linux.personality.flags[0]: expected a string");
  c["linux"]["personality"] = {{"domain", "LINUX"}, {"flags", std::vector<std::string>(33, "F")}};
  EXPECT_EQ(spec_error(c), "config.linux.personality.flags: more than 32 entries");
}

TEST(AttributesSpec, IoPriority) {
  auto c = config();
  c["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}, {"priority", 7}};
  auto io = spec::parse_container_spec(c).process.io_priority;
  ASSERT_TRUE(io);
  EXPECT_EQ(io->io_class, spec::IoPriorityClass::kIdle);
  EXPECT_EQ(io->priority, 7);
  c["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_RT"}, {"priority", 8}};
  EXPECT_EQ(spec_error(c), "config.process.ioPriority.priority: expected an integer in [0, 7]");
  c["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_NONE"}, {"priority", 0}};
  EXPECT_EQ(spec_error(c), "config.process.ioPriority.class: unknown class \"IOPRIO_CLASS_NONE\"");
  c["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_BE"}};
  EXPECT_EQ(spec_error(c), "config.process.ioPriority.priority: required field is missing");
  // ExecProcess reads the same field.
  auto p = spec::parse_process_spec(
      {{"args", {"/bin/true"}}, {"ioPriority", {{"class", "IOPRIO_CLASS_BE"}, {"priority", 3}}}},
      "body.process");
  ASSERT_TRUE(p.io_priority);
  EXPECT_EQ(p.io_priority->io_class, spec::IoPriorityClass::kBestEffort);
}

TEST(AttributesSpec, SchedulerFollowsSchedSetattrRules) {
  auto c = config();
  c["process"]["scheduler"] = {
      {"policy", "SCHED_FIFO"}, {"priority", 10}, {"flags", {"SCHED_FLAG_RESET_ON_FORK"}}};
  auto s = spec::parse_container_spec(c).process.scheduler;
  ASSERT_TRUE(s);
  EXPECT_EQ(s->policy, 1u);
  EXPECT_EQ(s->priority, 10u);
  EXPECT_EQ(s->flags, 1u);
  c["process"]["scheduler"] = {{"policy", "SCHED_BATCH"}, {"nice", -5}};
  s = spec::parse_container_spec(c).process.scheduler;
  EXPECT_EQ(s->policy, 3u);
  EXPECT_EQ(s->nice, -5);
  c["process"]["scheduler"] = {
      {"policy", "SCHED_DEADLINE"}, {"runtime", 10000}, {"deadline", 20000}, {"period", 30000}};
  s = spec::parse_container_spec(c).process.scheduler;
  EXPECT_EQ(s->policy, 6u);
  EXPECT_EQ(s->deadline, 20000u);

  const std::string at = "config.process.scheduler";
  c["process"]["scheduler"] = {{"nice", 1}};
  EXPECT_EQ(spec_error(c), at + ".policy: required field is missing");
  c["process"]["scheduler"] = {{"policy", "SCHED_FAIR"}};
  EXPECT_EQ(spec_error(c), at + ".policy: unknown policy \"SCHED_FAIR\"");
  c["process"]["scheduler"] = {{"policy", "SCHED_ISO"}};
  EXPECT_EQ(spec_error(c), at + ".policy: SCHED_ISO is not implemented by Linux");
  c["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}, {"nice", 20}};
  EXPECT_EQ(spec_error(c), at + ".nice: expected an integer in [-20, 19]");
  c["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}, {"priority", 5}};
  EXPECT_EQ(spec_error(c), at + ".priority: only SCHED_FIFO and SCHED_RR take a priority");
  c["process"]["scheduler"] = {{"policy", "SCHED_RR"}};
  EXPECT_EQ(spec_error(c), at + ".priority: SCHED_RR needs a priority in [1, 99]");
  c["process"]["scheduler"] = {{"policy", "SCHED_RR"}, {"priority", 100}};
  EXPECT_EQ(spec_error(c), at + ".priority: expected an integer in [0, 99]");
  c["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}, {"runtime", 1}};
  EXPECT_EQ(spec_error(c), at + ": runtime, deadline and period are for SCHED_DEADLINE only");
  c["process"]["scheduler"] = {{"policy", "SCHED_DEADLINE"}, {"runtime", 2}, {"deadline", 1}};
  EXPECT_EQ(spec_error(c), at + ": SCHED_DEADLINE needs 0 < runtime <= deadline <= period");
  c["process"]["scheduler"] = {{"policy", "SCHED_OTHER"}, {"flags", {"SCHED_FLAG_FAST"}}};
  EXPECT_EQ(spec_error(c), at + ".flags[0]: unknown flag \"SCHED_FLAG_FAST\"");
}

TEST(AttributesSpec, TimeOffsetsNeedANewTimeNamespace) {
  auto c = config();
  c["linux"]["namespaces"].push_back({{"type", "time"}});
  c["linux"]["timeOffsets"] = {{"monotonic", {{"secs", -3600}}},
                               {"boottime", {{"secs", 86400}, {"nanosecs", 5}}}};
  auto spec = spec::parse_container_spec(c);
  EXPECT_TRUE(spec.linux_spec.has(spec::NamespaceType::kTime));
  ASSERT_EQ(spec.linux_spec.time_offsets.size(), 2u);
  EXPECT_EQ(spec.linux_spec.time_offsets[0].clock, "monotonic");
  EXPECT_EQ(spec.linux_spec.time_offsets[0].seconds, -3600);
  EXPECT_EQ(spec.linux_spec.time_offsets[1].clock, "boottime");
  EXPECT_EQ(spec.linux_spec.time_offsets[1].nanoseconds, 5u);

  c["linux"]["timeOffsets"] = {{"realtime", {{"secs", 1}}}};
  EXPECT_EQ(spec_error(c),
            "config.linux.timeOffsets.realtime: unknown clock (monotonic or boottime)");
  c["linux"]["timeOffsets"] = {{"boottime", {{"nanosecs", 1000000000}}}};
  EXPECT_EQ(spec_error(c),
            "config.linux.timeOffsets.boottime.nanosecs: expected an integer in [0, 999999999]");
  c["linux"]["timeOffsets"] = {{"boottime", {{"secs", 1}}}};
  c["linux"]["namespaces"].back()["path"] = "/proc/1/ns/time";
  EXPECT_EQ(spec_error(c), "config.linux.timeOffsets: needs a new time namespace");
  c = config();
  c["linux"]["timeOffsets"] = {{"boottime", {{"secs", 1}}}};
  EXPECT_EQ(spec_error(c), "config.linux.timeOffsets: needs a new time namespace");
}

TEST(AttributesSpec, DeviceNodes) {
  auto c = config();
  c["linux"]["devices"] = {
      {{"path", "/dev/fuse"},
       {"type", "c"},
       {"major", 10},
       {"minor", 229},
       {"fileMode", 0666},
       {"uid", 1},
       {"gid", 2}},
      {{"path", "/dev//sub/./fifo"}, {"type", "p"}},
      {{"path", "/dev/ttyX"}, {"type", "u"}, {"major", 4}, {"minor", 64}, {"fileMode", 020620}},
      {{"path", "/dev/vdz"}, {"type", "b"}, {"major", 254}, {"minor", 9}}};
  auto devices = spec::parse_container_spec(c).linux_spec.devices;
  ASSERT_EQ(devices.size(), 4u);
  EXPECT_EQ(devices[0].path, "/dev/fuse");
  EXPECT_EQ(devices[0].type, spec::DeviceNodeType::kChar);
  EXPECT_EQ(devices[0].major, 10u);
  EXPECT_EQ(devices[0].minor, 229u);
  EXPECT_EQ(devices[0].file_mode, 0666u);
  EXPECT_EQ(devices[0].uid, 1u);
  EXPECT_EQ(devices[0].gid, 2u);
  EXPECT_EQ(devices[1].path, "/dev/sub/fifo");
  EXPECT_EQ(devices[1].type, spec::DeviceNodeType::kFifo);
  EXPECT_EQ(devices[2].type, spec::DeviceNodeType::kChar);
  EXPECT_EQ(devices[2].file_mode, 0620u);  // the type bits are dropped
  EXPECT_EQ(devices[3].type, spec::DeviceNodeType::kBlock);
}

TEST(AttributesSpec, HostileDeviceNodesAreRefused) {
  auto with = [](nlohmann::json device) {
    auto c = config();
    c["linux"]["devices"] = {std::move(device)};
    return spec_error(c);
  };
  const std::string at = "config.linux.devices[0]";
  EXPECT_EQ(with({{"path", "/dev/../etc/shadow"}, {"type", "c"}, {"major", 1}, {"minor", 3}}),
            at + ".path: \"/dev/../etc/shadow\" must not contain \"..\"");
  EXPECT_EQ(with({{"path", "/etc/x"}, {"type", "c"}, {"major", 1}, {"minor", 3}}),
            at + ".path: \"/etc/x\" is not under /dev");
  EXPECT_EQ(with({{"path", "/dev"}, {"type", "c"}, {"major", 1}, {"minor", 3}}),
            at + ".path: \"/dev\" is not under /dev");
  EXPECT_EQ(with({{"path", "dev/x"}, {"type", "c"}, {"major", 1}, {"minor", 3}}),
            at + ".path: must be an absolute path");
  EXPECT_EQ(with({{"path", "/dev/" + std::string(5000, 'a')}, {"type", "p"}}),
            at + ".path: longer than 4096 bytes");
  EXPECT_EQ(with({{"path", "/dev/x"}, {"type", "q"}, {"major", 1}, {"minor", 3}}),
            at + ".type: unknown device type \"q\" (c, b, u or p)");
  EXPECT_EQ(with({{"path", "/dev/x"}, {"type", "c"}, {"minor", 3}}),
            at + ".major: required field is missing");
  EXPECT_EQ(with({{"path", "/dev/x"}, {"type", "c"}, {"major", 4096}, {"minor", 3}}),
            at + ".major: expected an integer in [0, 4095]");
  EXPECT_EQ(with({{"path", "/dev/x"}, {"type", "c"}, {"major", 1}, {"minor", -1}}),
            at + ".minor: expected an integer in [0, 1048575]");
  EXPECT_EQ(
      with({{"path", "/dev/x"}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"fileMode", 01000000}}),
      at + ".fileMode: expected permission bits (at most 07777)");
  EXPECT_EQ(
      with({{"path", "/dev/x"}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"fileMode", 060666}}),
      at + ".fileMode: its file type bits do not match type \"c\"");
  EXPECT_EQ(with({{"path", "/dev/x"}, {"type", "c"}, {"major", 1}, {"minor", 3}, {"uid", -1}}),
            at + ".uid: expected an integer in [0, 4294967295]");

  auto c = config();
  c["linux"]["devices"] = {{{"path", "/dev/x"}, {"type", "p"}},
                           {{"path", "/dev//x"}, {"type", "p"}}};
  EXPECT_EQ(spec_error(c), "config.linux.devices[1].path: /dev/x is listed twice");
  c["linux"]["devices"] = nlohmann::json::array();
  for (int i = 0; i < 257; ++i)
    c["linux"]["devices"].push_back({{"path", "/dev/p" + std::to_string(i)}, {"type", "p"}});
  EXPECT_EQ(spec_error(c), "config.linux.devices: more than 256 devices");
  c["linux"]["devices"] = {{"path", "/dev/x"}};
  EXPECT_EQ(spec_error(c), "config.linux.devices: expected an array");
}

TEST(AttributesSpec, IntelRdtIsRefusedAndUsernameIgnored) {
  auto c = config();
  c["linux"]["intelRdt"] = {{"closID", "guaranteed"}, {"l3CacheSchema", "L3:0=ff"}};
  EXPECT_EQ(spec_error(c), "config.linux.intelRdt: Intel RDT is not available in the sandbox");
  c["linux"]["intelRdt"] = "x";
  EXPECT_EQ(spec_error(c), "config.linux.intelRdt: expected an object");
  c = config();
  c["process"]["user"]["username"] = "ContainerUser";  // Windows only, as runc: ignored
  EXPECT_EQ(spec::parse_container_spec(c).process.user.uid, 0u);
  c["process"]["user"]["username"] = 5;
  EXPECT_EQ(spec_error(c), "config.process.user.username: expected a string");
}

TEST(AttributesSpec, LsmLabelsAreAcceptedOnlyWithoutAnLsm) {
  auto c = config();
  c["process"]["apparmorProfile"] = "cri-containerd.apparmor.d";
  c["process"]["selinuxLabel"] = "system_u:system_r:container_t:s0:c1,c2";
  c["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0:c1,c2";
  auto spec = spec::parse_container_spec(c);
  EXPECT_EQ(spec.process.apparmor_profile, "cri-containerd.apparmor.d");
  EXPECT_EQ(spec.process.selinux_label, "system_u:system_r:container_t:s0:c1,c2");
  EXPECT_EQ(spec.linux_spec.mount_label, "system_u:object_r:container_file_t:s0:c1,c2");
  EXPECT_NO_THROW(check_lsm_labels(spec.process, spec.linux_spec.mount_label, false));
  try {
    check_lsm_labels(spec.process, spec.linux_spec.mount_label, true);
    ADD_FAILURE() << "a kernel with an LSM must refuse labels kvrun does not apply";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "process.apparmorProfile: LSM labels are not applied by kvrun, and this kernel has "
              "an LSM that would expect them");
  }
  spec::ProcessSpec none;
  EXPECT_NO_THROW(check_lsm_labels(none, "", true));
  c["linux"]["mountLabel"] = 1;
  EXPECT_EQ(spec_error(c), "config.linux.mountLabel: expected a string");
}

}  // namespace
}  // namespace kvrun::agent
