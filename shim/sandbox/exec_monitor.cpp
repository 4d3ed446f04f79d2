#include "shim/sandbox/exec_monitor.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <optional>

#include "common/error.h"
#include "common/error_code.h"
#include "protocol/client.h"
#include "shim/sandbox/agent_connect.h"
#include "shim/sandbox/monitor_process.h"

namespace kvrun::sandbox {

void run_exec_monitor(const ExecMonitorConfig& config, const ProcessSession::Connect& connect) {
  std::signal(SIGPIPE, SIG_IGN);
  int status = 1;
  int ready_fd = config.ready_fd;
  bool terminal = config.process.value("terminal", false);
  try {
    std::optional<ProcessSession> session;
    try {
      UniqueFd control_fd = connect();
      set_io_timeout(control_fd.get(), std::chrono::seconds(30));
      protocol::Client control(std::move(control_fd));
      control.call(
          protocol::ExecProcess{config.container_id, config.exec_id, config.process, true});
      session.emplace(
          control, connect,
          SessionConfig{config.container_id, config.exec_id, terminal, config.console_socket});
    } catch (const Error& e) {
      report_failure(ready_fd, e.what(), code_of(e));
      ::_exit(1);  // the CLI reports it
    }
    report_ready(ready_fd);
    // Checked for its id and kind, and once its first byte is there it must come whole within
    // the call timeout, as in the container's own monitor.
    status = session->exit_status();
    session->wait_output(std::chrono::seconds(5));
  } catch (const std::exception& e) {
    spdlog::error("exec in {}: {}", config.container_id, e.what());
  }
  std::fflush(nullptr);
  ::_exit(status);
}

}  // namespace kvrun::sandbox
