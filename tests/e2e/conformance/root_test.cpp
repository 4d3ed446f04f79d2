// Conformance with runc, kvrun in host sandboxes (label root: the real agent on this machine):
// every row of rows.cpp through runc and kvrun on the same bundles (the lifecycle cells with
// the two runtimes at once).
#include <future>
#include <iostream>
#include <optional>

#include "tests/e2e/conformance/conformance_fixture.h"

namespace kvrun::e2e::conformance {
namespace {

using ConformanceRootTest = ConformanceTest;

// Cells whose container must be frozen: the host agent has a freezer only where
// /sys/fs/cgroup is cgroup2 (not on a v1 or hybrid host).
bool needs_freezer(const LifecycleCell& cell) {
  return cell.from == From::kPaused ||
         (cell.from == From::kRunning && std::string(cell.command).rfind("pause", 0) == 0);
}

TEST_F(ConformanceRootTest, ObservationsMatchRunc) {
  for (Group group : {Group::kRoot, Group::kUser}) {
    std::vector<const Observation*> rows;
    for (const auto& row : observations())
      if (row.group == group) rows.push_back(&row);
    // One after the other: both make the mount points in the one rootfs they share.
    auto reference = observe(Runtime::kRunc, group, rows);
    auto kvrun = observe(Runtime::kKvrun, group, rows);
    for (const Observation* row : rows) {
      SCOPED_TRACE(row->name);
      ASSERT_TRUE(reference.contains(row->name)) << "runc printed no observation";
      const std::string& seen = kvrun[row->name];
      std::cout << (row->kvrun_prints ? "[differs] " : "[same]    ") << row->name << ": "
                << reference[row->name];
      if (row->kvrun_prints) {
        EXPECT_EQ(seen, row->kvrun_prints) << "documented: " << row->why;
      } else {
        EXPECT_EQ(seen, reference[row->name]);
      }
    }
  }
}

TEST_F(ConformanceRootTest, LifecycleMatchesRunc) {
  const auto& cells = lifecycle_cells();
  std::string no_freezer;
  {
    std::string why;
    if (!prepare(Runtime::kKvrun, From::kPaused, "freezer", &why)) no_freezer = why;
    kvrun({"delete", "--force", "freezer"});
  }
  auto play = [&](Runtime which) {
    std::vector<std::optional<Answer>> answers;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const LifecycleCell& cell = cells[i];
      std::string id = "c" + std::to_string(i), why;
      if (which == Runtime::kKvrun && !no_freezer.empty() && needs_freezer(cell)) {
        answers.emplace_back();
        continue;
      }
      if (!prepare(which, cell.from, id, &why)) {
        ADD_FAILURE() << to_string(cell.from) << " " << cell.command << ": cannot prepare: " << why;
        answers.emplace_back();
        continue;
      }
      answers.push_back(answer(which, id, cell.command));
      runtime(which, {"resume", id});
      runtime(which, {"delete", "--force", id});
    }
    return answers;
  };
  auto runc = std::async(std::launch::async, [&] { return play(Runtime::kRunc); });
  auto kvrun = play(Runtime::kKvrun);
  auto reference = runc.get();
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const LifecycleCell& cell = cells[i];
    std::string name = std::string(to_string(cell.from)) + " | " + cell.command;
    SCOPED_TRACE(name);
    if (!reference[i]) continue;  // already reported
    std::cout << name << " | runc: " << describe(*reference[i]);
    if (!kvrun[i]) {
      std::cout << " | kvrun: not run (" << no_freezer << ")\n";
      continue;
    }
    std::cout << " | kvrun: " << describe(*kvrun[i]) << (cell.why ? " (documented)" : "") << "\n";
    if (cell.why) {
      EXPECT_EQ(compare(cell.kvrun, *kvrun[i]), "") << describe(*kvrun[i]) << "; " << cell.why;
      EXPECT_NE(compare(*reference[i], *kvrun[i]), "") << "no longer differs: " << cell.why;
      continue;
    }
    EXPECT_EQ(compare(*reference[i], *kvrun[i]), "")
        << "runc: " << describe(*reference[i]) << "; kvrun: " << describe(*kvrun[i]);
    if (std::string(cell.command).rfind("state", 0) == 0 && reference[i]->status == 0) {
      auto runc_json = nlohmann::json::parse(reference[i]->out, nullptr, false);
      auto kvrun_json = nlohmann::json::parse(kvrun[i]->out, nullptr, false);
      for (const auto& difference : state_differences(runc_json, kvrun_json))
        ADD_FAILURE() << "state: " << difference;
    }
  }
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e::conformance
