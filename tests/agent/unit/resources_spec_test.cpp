// linux.resources of runtime-spec 1.1: decoding (every field), the cgroup v2 files each one
// becomes, and unified's checks, on a fake cgroup2 hierarchy (plain directories).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "agent/container/cgroups.h"
#include "agent_harness.h"
#include "common/error.h"
#include "spec/spec.h"

namespace kvrun::agent {
namespace {

const std::string kPath = "config.linux.resources";

std::string parse_error(const nlohmann::json& json) {
  try {
    spec::parse_resources(json, kPath);
    return "";
  } catch (const Error& e) {
    return e.what();
  }
}

std::map<std::string, std::string> files_of(const nlohmann::json& json) {
  auto settings = cgroup_settings(spec::parse_resources(json, kPath));
  std::map<std::string, std::string> out;
  for (const auto& [file, value] : settings) {
    auto& slot = out[file];
    slot += (slot.empty() ? "" : "|") + value;
  }
  return out;
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(ResourcesSpec, DecodesEveryField) {
  nlohmann::json json = {
      {"memory",
       {{"limit", 1 << 30},
        {"reservation", 1 << 29},
        {"swap", -1},
        {"kernel", 1 << 20},
        {"kernelTCP", 1 << 20},
        {"swappiness", 60},
        {"disableOOMKiller", true},
        {"useHierarchy", true},
        {"checkBeforeUpdate", true}}},
      {"cpu",
       {{"shares", 1024},
        {"quota", 50000},
        {"burst", 10000},
        {"period", 100000},
        {"realtimeRuntime", 950000},
        {"realtimePeriod", 1000000},
        {"cpus", "0-1"},
        {"mems", "0"},
        {"idle", 0}}},
      {"pids", {{"limit", 32}}},
      {"blockIO", {{"weight", 500}}},
      {"hugepageLimits", {{{"pageSize", "2MB"}, {"limit", 4194304}}}},
      {"network", {{"classID", 1048577}, {"priorities", {{{"name", "eth0"}, {"priority", 5}}}}}},
      {"rdma",
       {{"mlx5_1", {{"hcaHandles", 3}, {"hcaObjects", 10000}}},
        {"mlx4_0", nlohmann::json::object()}}},
      {"unified", {{"memory.high", "1073741824"}, {"cgroup.max.depth", "3"}}},
      {"devices", {{{"allow", false}, {"access", "rwm"}}}}};
  auto r = spec::parse_resources(json, kPath);
  EXPECT_EQ(r.memory_limit, 1 << 30);
  EXPECT_EQ(r.memory_reservation, 1 << 29);
  EXPECT_EQ(r.memory_swap, -1);
  EXPECT_TRUE(r.memory_check_before_update);
  EXPECT_EQ(r.cpu_shares, 1024u);
  EXPECT_EQ(r.cpu_quota, 50000);
  EXPECT_EQ(r.cpu_burst, 10000u);
  EXPECT_EQ(r.cpu_period, 100000u);
  EXPECT_EQ(r.cpu_idle, 0);
  EXPECT_EQ(r.cpuset_cpus, "0-1");
  EXPECT_EQ(r.pids_limit, 32);
  EXPECT_EQ(r.blkio_weight, 500u);
  ASSERT_EQ(r.hugepage_limits.size(), 1u);
  EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(r.hugepage_limits[0].limit, 4194304u);
  ASSERT_EQ(r.rdma.size(), 2u);
  EXPECT_EQ(r.rdma.at("mlx5_1").hca_handles, 3u);
  EXPECT_EQ(r.rdma.at("mlx5_1").hca_objects, 10000u);
  EXPECT_FALSE(r.rdma.at("mlx4_0").hca_handles);
  EXPECT_EQ(r.unified.size(), 2u);
  EXPECT_EQ(r.unified.at("memory.high"), "1073741824");
  ASSERT_TRUE(r.devices);
  EXPECT_FALSE(r.empty());
  auto controllers = required_controllers(r);
  for (const char* c : {"cpu", "cpuset", "memory", "pids", "io", "hugetlb", "rdma"}) {
    EXPECT_NE(std::find(controllers.begin(), controllers.end(), c), controllers.end()) << c;
  }
  // cgroup.* are core files: no controller named "cgroup" is enabled.
  EXPECT_EQ(std::find(controllers.begin(), controllers.end(), "cgroup"), controllers.end());
}

// runc's cgroup v2 mapping (libcontainer/cgroups/fs2).
TEST(ResourcesSpec, NewFieldsBecomeTheirV2Files) {
  auto m =
      files_of({{"memory", {{"reservation", 1 << 20}}},
                {"cpu", {{"quota", 20000}, {"burst", 5000}, {"shares", 1024}}},
                {"hugepageLimits",
                 {{{"pageSize", "2MB"}, {"limit", 2097152}}, {{"pageSize", "1GB"}, {"limit", 0}}}},
                {"rdma", {{"mlx5_1", {{"hcaHandles", 3}}}, {"mlx4_0", {{"hcaObjects", 7}}}}}});
  EXPECT_EQ(m["memory.low"], "1048576");
  EXPECT_EQ(m["cpu.max"], "20000 100000");
  EXPECT_EQ(m["cpu.max.burst"], "5000");
  EXPECT_EQ(m["cpu.weight"], "39");
  EXPECT_EQ(m["hugetlb.2MB.max"], "2097152");
  EXPECT_EQ(m["hugetlb.2MB.rsvd.max"], "2097152");
  EXPECT_EQ(m["hugetlb.1GB.max"], "0");
  EXPECT_EQ(m["rdma.max"], "mlx4_0 hca_handle=max hca_object=7|mlx5_1 hca_handle=3 hca_object=max");
  EXPECT_EQ(files_of({{"memory", {{"reservation", -1}}}})["memory.low"], "max");
  EXPECT_FALSE(files_of({{"memory", {{"reservation", 0}}}}).contains("memory.low"));
  // An idle cgroup has no weight: the kernel refuses cpu.weight there.
  m = files_of({{"cpu", {{"idle", 1}, {"shares", 1024}}}});
  EXPECT_EQ(m["cpu.idle"], "1");
  EXPECT_FALSE(m.contains("cpu.weight"));
  EXPECT_EQ(files_of({{"cpu", {{"idle", 0}, {"shares", 1024}}}})["cpu.weight"], "39");
}

// Fields cgroup v2 has no file for are accepted (runc's v2 driver ignores them) and write
// nothing.
TEST(ResourcesSpec, FieldsWithoutAV2FileAreAcceptedAndWriteNothing) {
  nlohmann::json json = {
      {"memory",
       {{"kernel", 1 << 20},
        {"kernelTCP", 1 << 20},
        {"swappiness", 10},
        {"disableOOMKiller", true},
        {"useHierarchy", false}}},
      {"cpu", {{"realtimeRuntime", 950000}, {"realtimePeriod", 1000000}}},
      {"network", {{"classID", 1}, {"priorities", {{{"name", "eth0"}, {"priority", 1}}}}}}};
  auto r = spec::parse_resources(json, kPath);
  EXPECT_TRUE(r.empty());
  EXPECT_TRUE(cgroup_settings(r).empty());
  EXPECT_TRUE(required_controllers(r).empty());
}

TEST(ResourcesSpec, HostileValuesAreNamed) {
  // runc bounds swappiness on cgroup v1 only, where it applies it.
  EXPECT_EQ(parse_error({{"memory", {{"swappiness", 101}}}}), "");
  EXPECT_EQ(parse_error({{"memory", {{"swappiness", -1}}}}),
            "config.linux.resources.memory.swappiness: expected an integer in [0, "
            "18446744073709551615]");
  EXPECT_EQ(parse_error({{"cpu", {{"idle", 2}}}}),
            "config.linux.resources.cpu.idle: expected an integer in [0, 1]");
  EXPECT_EQ(parse_error({{"hugepageLimits", {{{"pageSize", "../2MB"}, {"limit", 1}}}}}),
            "config.linux.resources.hugepageLimits[0].pageSize: \"../2MB\" is not a page size "
            "like 2MB or 1GB");
  EXPECT_EQ(parse_error({{"rdma", {{"mlx5 hca_handle=1\nmlx4", nlohmann::json::object()}}}}),
            "config.linux.resources.rdma.mlx5 hca_handle=1\nmlx4: is not an RDMA device name");
  for (const char* bad : {"../cgroup.procs", "memory/../../x", ".hidden", "..", ""}) {
    EXPECT_EQ(parse_error({{"unified", {{bad, "1"}}}}),
              kPath + ".unified." + bad + ": is not a cgroup file name")
        << bad;
  }
  EXPECT_EQ(parse_error({{"unified", {{"memory", "1"}}}}),
            "config.linux.resources.unified.memory: must be in the form CONTROLLER.PARAMETER");
  // Files through which a container could move, kill or freeze processes it does not own.
  for (const char* owned : {"cgroup.procs", "cgroup.threads", "cgroup.kill", "cgroup.freeze",
                            "cgroup.subtree_control", "cgroup.type"}) {
    EXPECT_EQ(parse_error({{"unified", {{owned, "1"}}}}),
              kPath + ".unified." + owned + ": is managed by the agent and cannot be set");
  }
  EXPECT_EQ(parse_error({{"unified", {{"memory.high", 5}}}}),
            "config.linux.resources.unified.memory.high: expected a string");
  EXPECT_NE(parse_error({{"unified", {{"memory.high", std::string(5000, '1')}}}}), "");
}

// unified is written into the container's cgroup, last (it overrides), and only to files
// that exist there: cgroupfs makes none, so a typo is an error naming the key.
TEST(ResourcesSpec, UnifiedWritesExistingFilesOfTheCgroupOnly) {
  test::TempDir dir;
  std::ofstream(dir.path() / "cgroup.controllers") << "cpu memory pids\n";
  auto cgroup = Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c1", {});
  ASSERT_TRUE(cgroup);
  std::ofstream(cgroup->path() / "memory.high") << "max";
  std::ofstream(cgroup->path() / "memory.max") << "max";
  auto update =
      spec::parse_resources({{"memory", {{"limit", 1000}}},
                             {"unified", {{"memory.high", "900"}, {"memory.max", "2000"}}}},
                            kPath);
  cgroup->update(update);
  EXPECT_EQ(read(cgroup->path() / "memory.high"), "900");
  EXPECT_EQ(read(cgroup->path() / "memory.max"), "2000");  // unified wins

  // A missing file is refused before anything is written.
  update = spec::parse_resources(
      {{"memory", {{"limit", 3000}}}, {"unified", {{"memory.hihg", "1"}}}}, kPath);
  try {
    cgroup->update(update);
    ADD_FAILURE() << "a unified file that does not exist was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "linux.resources.unified.memory.hihg: no such file in the container's cgroup " +
                  cgroup->path().string());
  }
  EXPECT_FALSE(std::filesystem::exists(cgroup->path() / "memory.hihg"));
  EXPECT_EQ(read(cgroup->path() / "memory.max"), "2000");

  // A symlink planted in place of a file is not followed.
  std::filesystem::create_symlink(dir.path() / "outside", cgroup->path() / "memory.low");
  EXPECT_THROW(cgroup->update(spec::parse_resources({{"unified", {{"memory.low", "1"}}}}, kPath)),
               Error);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "outside"));
}

// A controller named by a unified key must be offered by the root, as for the other fields.
TEST(ResourcesSpec, UnifiedNeedsItsController) {
  test::TempDir dir;
  std::ofstream(dir.path() / "cgroup.controllers") << "cpu memory pids\n";
  try {
    (void)Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c1",
                         spec::parse_resources({{"unified", {{"io.max", "8:0 rbps=1"}}}}, kPath));
    ADD_FAILURE() << "io.max accepted without an io controller";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "cgroup2 root " + dir.path().string() + " lacks controller(s) io");
  }
}

// runc's checkBeforeUpdate: a limit below the current usage is refused, and nothing written.
TEST(ResourcesSpec, CheckBeforeUpdateRefusesALimitBelowUsage) {
  test::TempDir dir;
  std::ofstream(dir.path() / "cgroup.controllers") << "cpu memory pids\n";
  auto cgroup = Cgroup::create({dir.path(), CgroupMode::kRequired, false}, "c1", {});
  ASSERT_TRUE(cgroup);
  std::ofstream(cgroup->path() / "memory.current") << "5000\n";
  std::ofstream(cgroup->path() / "memory.max") << "max";
  auto below =
      spec::parse_resources({{"memory", {{"limit", 4096}, {"checkBeforeUpdate", true}}}}, kPath);
  try {
    cgroup->update(below);
    ADD_FAILURE() << "a limit below the usage was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "linux.resources.memory.limit: 4096 is below the current usage 5000 "
              "(memory.checkBeforeUpdate)");
  }
  EXPECT_EQ(read(cgroup->path() / "memory.max"), "max");
  below.memory_check_before_update = false;  // without the check: written
  cgroup->update(below);
  EXPECT_EQ(read(cgroup->path() / "memory.max"), "4096");
  cgroup->update(
      spec::parse_resources({{"memory", {{"limit", 8192}, {"checkBeforeUpdate", true}}}}, kPath));
  EXPECT_EQ(read(cgroup->path() / "memory.max"), "8192");
}

}  // namespace
}  // namespace kvrun::agent
