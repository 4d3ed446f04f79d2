// A monitor that fails before it reports ready: the command that forked it gets the failure's
// reason and code (the code goes on to the CLI's log and the containerd shim, docs/cli.md).
#include "shim/sandbox/monitor_process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/error_code.h"

namespace kvrun::sandbox {
namespace {

CodedError failure_of(const std::function<void(int)>& body) {
  try {
    fork_monitor(body);
  } catch (const CodedError& e) {
    return e;
  }
  ADD_FAILURE() << "the monitor reported no failure";
  return CodedError(ErrorCode::kInternal, "");
}

TEST(MonitorProcess, AFailureKeepsItsCode) {
  CodedError e = failure_of([](int ready_fd) {
    report_failure(ready_fd, "container not running: still", ErrorCode::kFailedPrecondition);
    ::_exit(1);
  });
  EXPECT_EQ(e.code(), ErrorCode::kFailedPrecondition);
  EXPECT_STREQ(e.what(), "container not running: still");
}

TEST(MonitorProcess, AFailureWithoutACodeOrReportIsInternal) {
  CodedError plain = failure_of([](int ready_fd) {
    report_failure(ready_fd, "not_found");  // a reason that looks like a code is a reason
    ::_exit(1);
  });
  EXPECT_EQ(plain.code(), ErrorCode::kInternal);
  EXPECT_STREQ(plain.what(), "not_found");
  CodedError silent = failure_of([](int) { ::_exit(1); });
  EXPECT_EQ(silent.code(), ErrorCode::kInternal);
  EXPECT_STREQ(silent.what(), "the monitor exited before reporting");
}

}  // namespace
}  // namespace kvrun::sandbox
