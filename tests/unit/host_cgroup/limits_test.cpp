#include "shim/host_cgroup/limits.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "shim/host_cgroup/host_cgroup.h"

namespace kvrun::host_cgroup {
namespace {

nlohmann::json with_cpu(const nlohmann::json& cpu) {
  return {{"linux", {{"resources", {{"cpu", cpu}}}}}};
}

std::string value_of(const std::vector<Setting>& settings, const std::string& file) {
  for (const auto& s : settings)
    if (s.file == file) return s.value;
  return "(absent)";
}

TEST(HostLimits, MemoryIsTheGuestsRamPlusTheVmmsOverhead) {
  auto limits = host_limits(nlohmann::json::object(), 256);
  EXPECT_EQ(*limits.memory_bytes, (256 + kVmmOverheadMib) << 20);
  EXPECT_EQ(value_of(v2_settings(limits), "memory.max"), std::to_string((256 + 64) << 20));
  EXPECT_EQ(value_of(v1_settings(limits), "memory.limit_in_bytes"),
            std::to_string((256 + 64) << 20));
  EXPECT_EQ(value_of(v2_settings(limits), "pids.max"), std::to_string(kPidsMax));
  EXPECT_EQ(value_of(v1_settings(limits), "pids.max"), std::to_string(kPidsMax));
}

TEST(HostLimits, APodMemberWithoutAVmGetsThePidsLimitOnly) {
  auto limits = host_limits(with_cpu({{"quota", 50000}, {"period", 100000}}), std::nullopt);
  auto settings = v2_settings(limits);
  ASSERT_EQ(settings.size(), 1u);
  EXPECT_EQ(settings[0].file, "pids.max");
}

TEST(HostLimits, CpuQuotaPeriodAndSharesAsRuncWritesThem) {
  auto limits = host_limits(
      with_cpu({{"quota", 150000}, {"period", 100000}, {"shares", 1024}, {"cpus", "0-1"}}), 128);
  auto v2 = v2_settings(limits);
  EXPECT_EQ(value_of(v2, "cpu.max"), "150000 100000");
  EXPECT_EQ(value_of(v2, "cpu.weight"), "39");  // runc: 1 + (1024 - 2) * 9999 / 262142
  EXPECT_EQ(value_of(v2, "cpuset.cpus"), "0-1");
  auto v1 = v1_settings(limits);
  EXPECT_EQ(value_of(v1, "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(value_of(v1, "cpu.cfs_quota_us"), "150000");
  EXPECT_EQ(value_of(v1, "cpu.shares"), "1024");
  // The period is written before the quota it bounds.
  auto period =
      std::find_if(v1.begin(), v1.end(), [](auto& s) { return s.file == "cpu.cfs_period_us"; });
  auto quota =
      std::find_if(v1.begin(), v1.end(), [](auto& s) { return s.file == "cpu.cfs_quota_us"; });
  EXPECT_LT(period, quota);
}

TEST(HostLimits, UnlimitedQuotaAndDefaultPeriod) {
  EXPECT_EQ(value_of(v2_settings(host_limits(with_cpu({{"quota", -1}}), 128)), "cpu.max"),
            "(absent)");
  EXPECT_EQ(value_of(v2_settings(host_limits(with_cpu({{"quota", 20000}}), 128)), "cpu.max"),
            "20000 100000");
  EXPECT_EQ(value_of(v2_settings(host_limits(with_cpu({{"period", 50000}}), 128)), "cpu.max"),
            "max 50000");
}

TEST(HostLimits, SharesToWeightMatchesRunc) {
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
}

TEST(HostLimitsHostile, OutOfRangeCpuFieldsAreRefusedWithOneLine) {
  auto refusal = [](const nlohmann::json& cpu) -> std::string {
    try {
      host_limits(with_cpu(cpu), 128);
      return "accepted";
    } catch (const Error& e) {
      return e.what();
    }
  };
  EXPECT_EQ(refusal({{"shares", 1}}),
            "config.json: linux.resources.cpu.shares: must be between 2 "
            "and 262144");
  EXPECT_NE(refusal({{"shares", -5}}).find("non-negative"), std::string::npos);
  EXPECT_NE(refusal({{"period", 10}}).find("between 1000 and 1000000"), std::string::npos);
  EXPECT_NE(refusal({{"quota", 10}}).find("at least 1000"), std::string::npos);
  EXPECT_NE(refusal({{"quota", "lots"}}).find("must be an integer"), std::string::npos);
  // Written into cgroup files verbatim otherwise: a newline would smuggle a second value.
  EXPECT_NE(refusal({{"cpus", "0\n1"}}).find("not a CPU or node list"), std::string::npos);
  EXPECT_NE(refusal({{"mems", "0 max"}}).find("not a CPU or node list"), std::string::npos);
}

TEST(HostLimitsHostile, CgroupsPathMustBeAString) {
  EXPECT_THROW(spec_cgroups_path({{"linux", {{"cgroupsPath", 5}}}}), Error);
  EXPECT_EQ(spec_cgroups_path({{"linux", {{"cgroupsPath", "/a"}}}}), "/a");
  EXPECT_EQ(spec_cgroups_path(nlohmann::json::object()), "");
}

TEST(HostCgroupRecord, ParsesLeavesAndParents) {
  auto record =
      parse_record("parent /sys/fs/cgroup/memory/kvrun-0\nleaf /sys/fs/cgroup/memory/kvrun-0/c1\n");
  ASSERT_EQ(record.size(), 2u);
  EXPECT_FALSE(record[0].leaf);
  EXPECT_TRUE(record[1].leaf);
  EXPECT_EQ(record[1].dir, "/sys/fs/cgroup/memory/kvrun-0/c1");
}

TEST(HostCgroupRecordHostile, DamagedLinesAreIgnored) {
  auto record = parse_record("leaf relative/path\nleaf /a/../../etc\nrmrf /x\nleaf /ok\n\n");
  ASSERT_EQ(record.size(), 1u);
  EXPECT_EQ(record[0].dir, "/ok");
}

}  // namespace
}  // namespace kvrun::host_cgroup
