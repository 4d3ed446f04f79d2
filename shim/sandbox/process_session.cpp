#include "shim/sandbox/process_session.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <utility>

namespace kvrun::sandbox {

ProcessSession::ProcessSession(protocol::Client& control, const Connect& connect,
                               SessionConfig config)
    : config_(std::move(config)) {
  auto attach = [&](protocol::StdioStream stream) {
    return protocol::attach_stdio(
        connect(), protocol::AttachStdio{config_.container_id, config_.exec_id, stream});
  };
  UniqueFd out = attach(protocol::StdioStream::kStdout);
  UniqueFd err;
  if (!config_.terminal) err = attach(protocol::StdioStream::kStderr);
  UniqueFd in = attach(protocol::StdioStream::kStdin);
  if (config_.terminal) {
    // The guest pty's master is the stdout stream (stderr included) and takes stdin.
    int host_in = 0, host_out = 1;
    if (!config_.console_socket.empty()) {
      HostPty pty = open_host_pty();
      send_console(config_.console_socket, pty.master.get(), pty.name);
      terminal_ = std::move(pty.slave);
      host_in = host_out = terminal_.get();
    } else {
      terminal_ = UniqueFd(::fcntl(0, F_DUPFD_CLOEXEC, 3));
      raw_mode_.emplace(0);
    }
    resize(control);
    relay_.copy(std::move(out), host_out, true);
    relay_.copy(host_in, std::move(in), false);
  } else {
    relay_.copy(std::move(out), 1, true);
    relay_.copy(std::move(err), 2, true);
    relay_.copy(0, std::move(in), false);
  }
  wait_.emplace(connect(), protocol::WaitProcess{config_.container_id, config_.exec_id});
}

void ProcessSession::resize(protocol::Client& control) {
  if (!terminal_) return;
  if (auto size = window_size(terminal_.get())) {
    try {
      control.call(
          protocol::ResizePty{config_.container_id, config_.exec_id, size->ws_row, size->ws_col});
    } catch (const protocol::AgentError& e) {
      spdlog::debug("resize: {}", e.what());  // a refusal leaves the old size, as before
    }
  }
}

}  // namespace kvrun::sandbox
