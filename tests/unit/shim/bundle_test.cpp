#include "shim/oci/bundle.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "temp_dir.h"

namespace kvrun::oci {
namespace {

using nlohmann::json;

class BundleTest : public ::testing::Test {
 protected:
  void SetUp() override { std::filesystem::create_directories(dir.path() / "rootfs"); }

  static json valid() {
    return json::parse(R"({
      "ociVersion": "1.0.2",
      "process": {"args": ["/bin/sh"], "cwd": "/", "env": ["PATH=/bin"], "terminal": false},
      "root": {"path": "rootfs", "readonly": true},
      "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                 {"destination": "/data", "type": "bind", "source": "/srv", "options": ["rbind"]}],
      "annotations": {"a": "b"},
      "linux": {"resources": {"memory": {"limit": 536870912},
                              "cpu": {"quota": 150000, "period": 100000, "cpus": "0-1"}}}
    })");
  }

  // The one-line error parse_bundle gives for config.
  std::string error_of(const json& config) {
    try {
      parse_bundle(config, dir.path());
    } catch (const Error& e) {
      return e.what();
    }
    return "no error";
  }

  testing::TempDir dir;
};

TEST_F(BundleTest, ReadsWhatTheHostNeeds) {
  Bundle bundle = parse_bundle(valid(), dir.path());
  EXPECT_EQ(bundle.rootfs, dir.path() / "rootfs");
  EXPECT_TRUE(bundle.root_readonly);
  EXPECT_EQ(bundle.args, std::vector<std::string>{"/bin/sh"});
  ASSERT_EQ(bundle.mounts.size(), 2u);
  EXPECT_FALSE(bundle.mounts[0].is_bind());
  EXPECT_TRUE(bundle.mounts[1].is_bind());
  EXPECT_EQ(bundle.resources.memory_limit, 536870912);
  EXPECT_EQ(bundle.resources.cpu_quota, 150000);
  EXPECT_EQ(bundle.resources.cpu_period, 100000u);
  EXPECT_EQ(bundle.resources.cpuset_cpus, "0-1");
  EXPECT_EQ(bundle.annotations.at("a"), "b");
}

TEST_F(BundleTest, LoadsFromDisk) {
  dir.write("config.json", valid().dump());
  EXPECT_EQ(load_bundle(dir.path()).args[0], "/bin/sh");
}

TEST_F(BundleTest, MissingOrBrokenConfigFileIsOneLine) {
  testing::TempDir empty;
  EXPECT_THROW(load_bundle(empty.path()), Error);
  empty.write("config.json", "{\"ociVersion\": ");
  try {
    load_bundle(empty.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "config.json: invalid JSON at byte 16");
  }
}

TEST_F(BundleTest, EveryErrorNamesTheField) {
  struct Case {
    const char* pointer;  // JSON pointer to change
    json value;           // null = remove
    const char* expected;
  };
  const Case cases[] = {
      {"/ociVersion", nullptr, "config.json: ociVersion: required field is missing"},
      {"/ociVersion", 1, "config.json: ociVersion: must be a string"},
      {"/process", nullptr, "config.json: process: required field is missing"},
      {"/process", "x", "config.json: process: must be an object"},
      {"/process/args", nullptr, "config.json: process.args: must be a non-empty array"},
      {"/process/args", json::array(), "config.json: process.args: must be a non-empty array"},
      {"/process/args", "sh", "config.json: process.args: must be a non-empty array"},
      {"/process/args", json::array({"/bin/sh", 3}),
       "config.json: process.args[1]: must be a string"},
      {"/process/args", json::array({""}), "config.json: process.args[0]: must not be empty"},
      {"/process/terminal", "yes", "config.json: process.terminal: must be a boolean"},
      {"/process/cwd", "relative", "config.json: process.cwd: must be an absolute path"},
      {"/process/env", json::array({1}), "config.json: process.env[0]: must be a string"},
      {"/root", nullptr, "config.json: root: required field is missing"},
      {"/root/path", nullptr, "config.json: root.path: required field is missing"},
      {"/root/path", "", "config.json: root.path: must not be empty"},
      {"/root/readonly", 1, "config.json: root.readonly: must be a boolean"},
      {"/mounts", json::object(), "config.json: mounts: must be an array"},
      {"/mounts/0", "proc", "config.json: mounts[0]: must be an object"},
      {"/mounts/0/destination", nullptr,
       "config.json: mounts[0].destination: required field is missing"},
      {"/mounts/0/destination", "proc",
       "config.json: mounts[0].destination: must be an absolute path"},
      {"/mounts/0/type", 5, "config.json: mounts[0].type: must be a string"},
      {"/mounts/1/source", nullptr, "config.json: mounts[1].source: a bind mount needs a source"},
      {"/mounts/1/options", json::array({true}),
       "config.json: mounts[1].options[0]: must be a string"},
      {"/linux", 1, "config.json: linux: must be an object"},
      {"/linux/resources/memory/limit", "1G",
       "config.json: linux.resources.memory.limit: must be an integer"},
      {"/linux/resources/cpu/period", -1,
       "config.json: linux.resources.cpu.period: must not be negative"},
      {"/linux/resources/cpu/quota", 1.5,
       "config.json: linux.resources.cpu.quota: must be an integer"},
      {"/linux/resources/cpu/cpus", "0-x",
       "config.json: linux.resources.cpu.cpus: invalid CPU number \"x\""},
      {"/linux/resources/cpu/cpus", "3-1",
       "config.json: linux.resources.cpu.cpus: range \"3-1\" ends before it starts"},
      {"/annotations/a", 1, "config.json: annotations.a: must be a string"},
      {"/hostname", std::string(65, 'h'), "config.json: hostname: longer than 64 characters"},
  };
  for (const auto& c : cases) {
    json config = valid();
    json::json_pointer pointer(c.pointer);
    if (c.value.is_null()) {
      config[pointer.parent_pointer()].erase(pointer.back());
    } else {
      config[pointer] = c.value;
    }
    EXPECT_EQ(error_of(config), c.expected) << c.pointer;
  }
  EXPECT_EQ(error_of(json::array()), "config.json: must be a JSON object");
}

TEST_F(BundleTest, RootfsMustBeAnExistingDirectory) {
  json config = valid();
  config["root"]["path"] = "missing";
  EXPECT_EQ(error_of(config), "config.json: root.path: " + (dir.path() / "missing").string() +
                                  ": No such file or directory");
  dir.write("file", "x");
  config["root"]["path"] = (dir.path() / "file").string();
  EXPECT_EQ(error_of(config),
            "config.json: root.path: " + (dir.path() / "file").string() + ": not a directory");
}

TEST_F(BundleTest, NullCountsAsAbsent) {
  json config = valid();
  config["linux"] = nullptr;
  config["mounts"] = nullptr;
  Bundle bundle = parse_bundle(config, dir.path());
  EXPECT_TRUE(bundle.mounts.empty());
  EXPECT_FALSE(bundle.resources.memory_limit);
}

TEST(CpusetTest, CountsDistinctCpus) {
  EXPECT_EQ(count_cpuset("0", "f"), 1u);
  EXPECT_EQ(count_cpuset("0-3,6", "f"), 5u);
  EXPECT_EQ(count_cpuset("1,1,0-1", "f"), 2u);
  EXPECT_THROW(count_cpuset("", "f"), Error);
  EXPECT_THROW(count_cpuset("1,", "f"), Error);
  EXPECT_THROW(count_cpuset("99999", "f"), Error);
}

}  // namespace
}  // namespace kvrun::oci
