// Runs the same bundles and commands through runc (the reference, from PATH) and kvrun, and
// collects what each answered, for the tables in rows.h.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/e2e/cli/cli_fixture.h"
#include "tests/e2e/conformance/rows.h"

namespace kvrun::e2e::conformance {

enum class Runtime { kRunc, kKvrun };

class ConformanceTest : public CliTest {
 protected:
  void SetUp() override;     // CliTest's, the applets the probes use, skips without runc
  void TearDown() override;  // deletes runc's containers, then CliTest's

  Result runtime(Runtime which, const std::vector<std::string>& args, int timeout_seconds = 30);
  // A bundle on the shared busybox rootfs running `sh -c script`, the group's process, with
  // the rows' patches merged in (objects merge, arrays append). "@HOOKS@" in a patch is the host
  // path of the rootfs's /conf-hooks/<hooks>, $HOOK_DIR its path in the container.
  std::filesystem::path group_bundle(const std::string& name, Group group,
                                     const std::string& script,
                                     const std::vector<const Observation*>& rows,
                                     const std::string& hooks = "none");
  // Runs the rows of `group` in one container of `which` (run, foreground); row name -> output.
  std::map<std::string, std::string> observe(Runtime which, Group group,
                                             const std::vector<const Observation*>& rows,
                                             int timeout_seconds = 30);

  // "absent", or the status `state` gives.
  std::string status_of(Runtime which, const std::string& id);
  // Brings container `id` to `from` with a long-running (or, for stopped, exiting) process.
  // False if the runtime cannot (the reason in *why).
  bool prepare(Runtime which, From from, const std::string& id, std::string* why);
  // Runs command ("@" = id) and returns the answer; kills wait (up to 2 s) for the status to
  // move, as the signal is delivered after the command returns.
  Answer answer(Runtime which, const std::string& id, const std::string& command);
  // Every difference between runc's and kvrun's `state` JSON that a caller could notice.
  static std::vector<std::string> state_differences(const nlohmann::json& runc,
                                                    const nlohmann::json& kvrun);

  std::filesystem::path runc_root_;
  std::filesystem::path long_bundle_, short_bundle_;
};

// Answers compared: status, whether it failed and with runc's gist (exec's "exec failed: "
// prefix aside) inside kvrun's message, and the status afterwards. Empty when they agree.
std::string compare(const Answer& runc, const Answer& kvrun);
std::string describe(const Answer& answer);

}  // namespace kvrun::e2e::conformance
