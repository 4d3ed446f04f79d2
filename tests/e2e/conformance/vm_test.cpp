// Conformance with runc, kvrun in VM sandboxes (label linux: our kernel and agent in kvrun-vmm;
// nested where /dev/kvm is missing): the observation rows marked in_vm (one boot per group) and
// the lifecycle walks (one boot each), compared with runc's answers taken in the same run.
#include <sched.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

#include "tests/e2e/conformance/conformance_fixture.h"

namespace kvrun::e2e::conformance {
namespace {

// runc needs a cgroup filesystem, which the nested VM's system lacks: this test process (and
// the runtimes it starts) get one in a mount namespace of their own.
void ensure_cgroup_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.find(" - cgroup") != std::string::npos) return;
  ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
  ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
      << std::strerror(errno);
  ASSERT_EQ(::mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, nullptr), 0) << std::strerror(errno);
}

class ConformanceVmTest : public ConformanceTest {
 protected:
  void SetUp() override {
    ensure_cgroup_mount();
    ConformanceTest::SetUp();
    if (!IsSkipped()) use_vm_sandbox(KVRUN_VMM_PATH, KVRUN_INITRD_PATH);
  }
};

TEST_F(ConformanceVmTest, ObservationsMatchRunc) {
  for (Group group : {Group::kRoot, Group::kUser}) {
    std::vector<const Observation*> rows;
    for (const auto& row : observations())
      if (row.group == group && row.in_vm) rows.push_back(&row);
    auto reference = observe(Runtime::kRunc, group, rows);
    auto seen = observe(Runtime::kKvrun, group, rows, 120);
    for (const Observation* row : rows) {
      SCOPED_TRACE(row->name);
      ASSERT_TRUE(reference.contains(row->name)) << "runc printed no observation";
      std::cout << row->name << ": runc " << reference[row->name] << "  kvrun " << seen[row->name];
      if (row->vm_prints) {
        EXPECT_EQ(seen[row->name], row->vm_prints) << "documented: " << row->vm_why;
      } else if (row->kvrun_prints) {
        EXPECT_EQ(seen[row->name], row->kvrun_prints) << "documented: " << row->why;
      } else {
        EXPECT_EQ(seen[row->name], reference[row->name]);
      }
    }
  }
}

TEST_F(ConformanceVmTest, LifecycleWalksMatchRunc) {
  const auto& walks = lifecycle_walks();
  for (std::size_t w = 0; w < walks.size(); ++w) {
    std::string id = "walk" + std::to_string(w), why;
    ASSERT_TRUE(prepare(Runtime::kRunc, From::kCreated, id, &why)) << why;
    ASSERT_TRUE(prepare(Runtime::kKvrun, From::kCreated, id, &why)) << why;
    for (const LifecycleStep& step : walks[w]) {
      SCOPED_TRACE(id + ": " + step.command);
      Answer reference = answer(Runtime::kRunc, id, step.command);
      Answer seen = answer(Runtime::kKvrun, id, step.command);
      // The VM's monitor may take longer than the host's to record a stop.
      if (seen.after != reference.after)
        wait_until([&] { return (seen.after = status_of(Runtime::kKvrun, id)) == reference.after; },
                   5000);
      std::cout << id << " | " << step.command << " | runc: " << describe(reference)
                << " | kvrun: " << describe(seen) << "\n";
      if (step.why) {
        EXPECT_EQ(compare(step.kvrun, seen), "") << describe(seen) << "; " << step.why;
      } else {
        EXPECT_EQ(compare(reference, seen), "")
            << "runc: " << describe(reference) << "; kvrun: " << describe(seen);
      }
      if (std::string(step.command).rfind("state", 0) == 0 && reference.status == 0) {
        for (const auto& difference :
             state_differences(nlohmann::json::parse(reference.out, nullptr, false),
                               nlohmann::json::parse(seen.out, nullptr, false)))
          ADD_FAILURE() << "state: " << difference;
      }
    }
    runtime(Runtime::kRunc, {"delete", "--force", id});
    runtime(Runtime::kKvrun, {"delete", "--force", id});
  }
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e::conformance
