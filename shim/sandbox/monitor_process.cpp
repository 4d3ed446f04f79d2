#include "shim/sandbox/monitor_process.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "common/error.h"
#include "common/error_code.h"
#include "common/unique_fd.h"
#include "shim/host_cgroup/host_cgroup.h"

namespace kvrun::sandbox {
namespace {

void report(int& fd, const std::string& line) {
  if (fd < 0) return;
  std::string text = line + "\n";
  [[maybe_unused]] auto ignored = ::write(fd, text.data(), text.size());
  ::close(fd);
  fd = -1;
}

// "ok", or throws CodedError with the child's reason and code.
void read_report(int fd) {
  std::string text;
  char buffer[512];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.find('\n') != std::string::npos || text.size() > 4096) break;
  }
  text = text.substr(0, text.find('\n'));
  if (text == "ok") return;
  if (text.rfind("error ", 0) == 0) {
    std::string rest = text.substr(6);
    std::size_t space = rest.find(' ');
    auto code = error_code_named(rest.substr(0, space));
    if (code && space != std::string::npos) throw CodedError(*code, rest.substr(space + 1));
    throw CodedError(ErrorCode::kInternal, rest);
  }
  throw CodedError(ErrorCode::kInternal, "the monitor exited before reporting");
}

}  // namespace

void report_ready(int& ready_fd) { report(ready_fd, "ok"); }

void report_failure(int& ready_fd, std::string_view reason, ErrorCode code) {
  report(ready_fd, "error " + std::string(to_string(code)) + " " + std::string(reason));
}

void join_host_cgroup(const host_cgroup::HostCgroup& cgroup, int& ready_fd) {
  try {
    cgroup.join();
  } catch (const Error& e) {
    report_failure(ready_fd, e.what());
    ::_exit(1);
  }
}

pid_t fork_monitor(const std::function<void(int ready_fd)>& body) {
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw_errno("pipe");
  UniqueFd ready_read(ends[0]), ready_write(ends[1]);
  // Buffered output would otherwise be written twice, once by each process.
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw_errno("fork");
  if (pid == 0) {
    ready_read.reset();
    body(ready_write.release());
    ::_exit(1);  // body must not return; if it does, the parent sees no report
  }
  ready_write.reset();
  try {
    read_report(ready_read.get());
  } catch (const Error&) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    throw;
  }
  return pid;
}

}  // namespace kvrun::sandbox
