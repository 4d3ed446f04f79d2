#include "spec/spec.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include "agent_harness.h"
#include "common/error.h"

namespace kvrun::agent {
namespace {

using test::spec_error;

nlohmann::json config() { return test::base_config({"/bin/true"}); }

TEST(Spec, ParsesTheTestConfig) {
  auto c = config();
  c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 10}, {"hard", 20}}};
  c["process"]["noNewPrivileges"] = true;
  c["linux"]["maskedPaths"] = {"/proc/kcore"};
  c["linux"]["resources"] = {{"memory", {{"limit", 1 << 20}}}, {"pids", {{"limit", 10}}}};
  auto spec = spec::parse_container_spec(c);
  EXPECT_EQ(spec.process.args, std::vector<std::string>{"/bin/true"});
  EXPECT_EQ(spec.hostname, "kvrun-test");
  EXPECT_EQ(spec.mounts.size(), 5u);
  EXPECT_TRUE(spec.linux_spec.has(spec::NamespaceType::kPid));
  EXPECT_FALSE(spec.linux_spec.has(spec::NamespaceType::kUser));
  EXPECT_EQ(spec.process.capabilities.bounding.size(), 5u);
  ASSERT_EQ(spec.process.rlimits.size(), 1u);
  EXPECT_EQ(spec.process.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_TRUE(spec.process.no_new_privileges);
  EXPECT_EQ(spec.linux_spec.resources.memory_limit, 1 << 20);
  EXPECT_EQ(spec.linux_spec.resources.pids_limit, 10);
  EXPECT_FALSE(spec.process.user.umask);
}

TEST(Spec, UmaskIsParsedAndBounded) {
  auto c = config();
  c["process"]["user"]["umask"] = 18;  // podman always sends it
  EXPECT_EQ(spec::parse_container_spec(c).process.user.umask, 022u);
  c["process"]["user"]["umask"] = 01000;
  EXPECT_EQ(spec_error(c), "config.process.user.umask: expected an integer in [0, 511]");
}

TEST(Spec, MissingRequiredFieldsAreNamed) {
  auto c = config();
  c["process"].erase("args");
  EXPECT_EQ(spec_error(c), "config.process.args: required field is missing");
  c = config();
  c.erase("root");
  EXPECT_EQ(spec_error(c), "config.root: required field is missing");
  c = config();
  c["process"]["args"] = nlohmann::json::array();
  EXPECT_EQ(spec_error(c), "config.process.args: needs at least the program to run");
}

// The runtime-spec: a runtime MUST NOT generate an error on an unknown property and MUST ignore
// it; the fields around it are still read and checked.
TEST(Spec, UnknownFieldsAreIgnored) {
  auto c = config();
  c["process"]["consoleSize"] = {{"height", 24}, {"width", 80}, {"depth", 1}};
  c["org.example.future"] = {{"anything", true}};
  c["linux"]["resources"] = {{"blockIO", {{"wieght", 500}, {"weight", 100}}}};
  c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"newKnob", 1}};
  auto spec = spec::parse_container_spec(c);
  EXPECT_EQ(spec.process.console_rows, 24);
  EXPECT_EQ(spec.linux_spec.resources.blkio_weight, 100u);
  ASSERT_TRUE(spec.linux_spec.seccomp);
  c["process"]["consoleSize"]["width"] = "80";
  EXPECT_EQ(spec_error(c), "config.process.consoleSize.width: expected an integer in [0, 65535]");
}

TEST(Spec, MountOptionsAreCheckedWhenTheSpecIsRead) {
  auto c = config();
  c["mounts"].push_back({{"destination", "/data"},
                         {"type", "bind"},
                         {"source", "/tmp"},
                         {"options", {"rbind", "idmap"}}});
  EXPECT_EQ(spec_error(c),
            "config.mounts[5].options: mount option \"idmap\": idmapped mounts are not supported");
  c["mounts"][5]["options"] = {"rbind", "rro"};
  c["mounts"][5]["uidMappings"] = nlohmann::json::array();
  EXPECT_EQ(spec_error(c), "config.mounts[5].uidMappings: idmapped mounts are not supported");
  c["mounts"][5].erase("uidMappings");
  EXPECT_EQ(spec::parse_container_spec(c).mounts[5].options,
            (std::vector<std::string>{"rbind", "rro"}));
}

TEST(Spec, InvalidValuesAreNamed) {
  auto c = config();
  c["process"]["terminal"] = 1;
  EXPECT_EQ(spec_error(c), "config.process.terminal: expected a boolean");
  c = config();
  c["process"]["capabilities"]["bounding"][1] = "CAP_FLY";
  EXPECT_EQ(spec_error(c),
            "config.process.capabilities.bounding[1]: unknown capability \"CAP_FLY\"");
  c = config();
  c["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 30}, {"hard", 20}}};
  EXPECT_EQ(spec_error(c), "config.process.rlimits[0].soft: is larger than hard");
  c = config();
  c["process"]["rlimits"] = {{{"type", "RLIMIT_FOO"}, {"soft", 1}, {"hard", 2}}};
  EXPECT_EQ(spec_error(c), "config.process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  c = config();
  c["process"]["user"]["uid"] = -1;
  EXPECT_EQ(spec_error(c), "config.process.user.uid: expected an integer in [0, 4294967295]");
  c = config();
  c["process"]["cwd"] = "relative";
  EXPECT_EQ(spec_error(c), "config.process.cwd: must be an absolute path");
  c = config();
  c["mounts"][0]["destination"] = "proc";
  EXPECT_EQ(spec_error(c), "config.mounts[0].destination: must be an absolute path");
  c = config();
  c["process"]["env"] = {"NOEQUALS"};
  EXPECT_EQ(spec_error(c), "config.process.env[0]: expected NAME=VALUE");
}

TEST(Spec, NamespaceRules) {
  auto c = config();
  c["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "timex"}}};
  EXPECT_EQ(spec_error(c), "config.linux.namespaces[1].type: unknown namespace type \"timex\"");
  c = config();
  c["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "uts"}}};
  EXPECT_EQ(spec_error(c),
            "config.linux.namespaces: a mount namespace is required (without one the container "
            "would share the agent's mount namespace and root filesystem)");
  c = config();
  c["linux"]["namespaces"] = {{{"type", "mount"}}};
  EXPECT_EQ(spec_error(c), "config.hostname: setting a hostname needs a uts namespace");
  c = config();
  c["linux"]["namespaces"].push_back({{"type", "user"}});
  EXPECT_EQ(spec_error(c),
            "config.linux.uidMappings: a user namespace needs uidMappings and gidMappings");
  c = config();
  c["linux"]["namespaces"][0]["path"] = "proc/1/ns/pid";
  EXPECT_EQ(spec_error(c), "config.linux.namespaces[0].path: must be an absolute path");
  c = config();
  c["linux"]["namespaces"][1]["path"] = "/proc/1/ns/net";
  auto spec = spec::parse_container_spec(c);
  EXPECT_EQ(spec.linux_spec.namespace_paths.at(spec::NamespaceType::kNetwork), "/proc/1/ns/net");
  EXPECT_TRUE(spec.linux_spec.has(spec::NamespaceType::kNetwork));
}

TEST(Spec, SeccompRules) {
  auto c = config();
  c["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  auto spec = spec::parse_container_spec(c);
  ASSERT_TRUE(spec.linux_spec.seccomp);
  EXPECT_EQ(spec.linux_spec.seccomp->syscalls[0].errno_ret, 1u);
  c["linux"]["seccomp"]["syscalls"][0]["action"] = "SCMP_ACT_EXPLODE";
  EXPECT_EQ(spec_error(c),
            "config.linux.seccomp.syscalls[0].action: unknown action \"SCMP_ACT_EXPLODE\"");
  c["linux"]["seccomp"] = {{"syscalls", {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}}}}};
  EXPECT_EQ(spec_error(c), "config.linux.seccomp.defaultAction: required field is missing");
}

TEST(Spec, DeviceRulesAreParsedInOrder) {
  auto c = config();
  // containerd's default, then a rule as `--device-cgroup-rule 'c 1:11 r'` adds it.
  c["linux"]["resources"] = {
      {"devices",
       {{{"allow", false}, {"access", "rwm"}},
        {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "r"}},
        {{"allow", true}, {"type", "b"}, {"major", -1}, {"minor", -1}, {"access", "m"}}}}};
  auto devices = spec::parse_container_spec(c).linux_spec.resources.devices;
  ASSERT_TRUE(devices);
  ASSERT_EQ(devices->size(), 3u);
  EXPECT_EQ((*devices)[0],
            (spec::DeviceRuleSpec{false, spec::DeviceType::kAll, {}, {}, spec::kDeviceAllAccess}));
  EXPECT_EQ((*devices)[1],
            (spec::DeviceRuleSpec{true, spec::DeviceType::kChar, 1, 11, spec::kDeviceRead}));
  EXPECT_EQ((*devices)[2],
            (spec::DeviceRuleSpec{true, spec::DeviceType::kBlock, {}, {}, spec::kDeviceMknod}));
  // No rules at all is not the same as an empty list, but both end in the defaults.
  EXPECT_FALSE(spec::parse_container_spec(config()).linux_spec.resources.devices);
}

TEST(Spec, MalformedDeviceRulesAreRefused) {
  auto c = config();
  auto with_rule = [&](const nlohmann::json& rule) {
    c["linux"]["resources"] = {{"devices", nlohmann::json::array({rule})}};
    return spec_error(c);
  };
  EXPECT_EQ(with_rule({{"allow", true}, {"type", "u"}}),
            "config.linux.resources.devices[0].type: unknown device type \"u\" (a, b or c)");
  EXPECT_EQ(with_rule({{"allow", true}, {"access", "rwx"}}),
            "config.linux.resources.devices[0].access: \"rwx\" is not made of r, w and m");
  EXPECT_EQ(with_rule({{"allow", true}, {"access", ""}}),
            "config.linux.resources.devices[0].access: must not be empty");
  EXPECT_EQ(with_rule({{"allow", true}, {"major", -2}})
                .rfind("config.linux.resources.devices[0].major: ", 0),
            0u);
  EXPECT_EQ(with_rule({{"access", "r"}}),
            "config.linux.resources.devices[0].allow: required field is missing");
  // A property device rules do not have is ignored, as every unknown one.
  EXPECT_EQ(with_rule({{"allow", true}, {"path", "/dev/x"}}), "");
  c["linux"]["resources"] = {{"devices", nlohmann::json::array()}};
  for (int i = 0; i < 257; ++i) c["linux"]["resources"]["devices"].push_back({{"allow", true}});
  EXPECT_EQ(spec_error(c), "config.linux.resources.devices: more than 256 rules");
}

TEST(Spec, BlockIoWeightIsParsedAndPerDeviceRulesRefused) {
  auto c = config();
  c["linux"]["resources"] = {{"blockIO", {{"weight", 500}}}};
  EXPECT_EQ(spec::parse_container_spec(c).linux_spec.resources.blkio_weight, 500u);
  c["linux"]["resources"] = {{"blockIO", {{"weight", 5}}}};
  EXPECT_EQ(spec_error(c),
            "config.linux.resources.blockIO.weight: expected an integer in [10, 1000]");
  c["linux"]["resources"] = {{"blockIO", {{"weight", 1001}}}};
  EXPECT_EQ(spec_error(c),
            "config.linux.resources.blockIO.weight: expected an integer in [0, 1000]");
  c["linux"]["resources"] = {
      {"blockIO",
       {{"weight", 500}, {"weightDevice", {{{"major", 8}, {"minor", 0}, {"weight", 10}}}}}}};
  EXPECT_EQ(
      spec_error(c),
      "config.linux.resources.blockIO.weightDevice: is not supported (only blockIO.weight is)");
  c["linux"]["resources"] = {{"blockIO", {{"throttleReadBpsDevice", nlohmann::json::array()}}}};
  EXPECT_EQ(spec_error(c),
            "config.linux.resources.blockIO.throttleReadBpsDevice: is not supported "
            "(only blockIO.weight is)");
}

TEST(Spec, ExecProcessErrorsUseTheRequestPath) {
  try {
    spec::parse_process_spec({{"args", {"ls"}}, {"cwd", 3}}, "body.process");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "body.process.cwd: expected a string");
  }
}

}  // namespace
}  // namespace kvrun::agent
