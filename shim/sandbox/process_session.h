// One process's session with the host, shared by the container monitor (the init) and the exec
// monitor (an exec'd process): its standard streams attached through the agent and relayed from
// the monitor's fds 0-2, or with process.terminal a host terminal (a pty of ours sent to the
// console socket, or the caller's own terminal in raw mode) sized like the guest's pty, and its
// WaitProcess outstanding. The agent connection is the caller's: the session only asks `connect`
// for fresh ones (one per stream and the wait).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "common/unique_fd.h"
#include "protocol/client.h"
#include "shim/sandbox/console.h"
#include "shim/sandbox/stdio_relay.h"

namespace kvrun::sandbox {

struct SessionConfig {
  std::string container_id;
  std::string exec_id;  // "" names the container's init
  bool terminal = false;
  std::string console_socket;  // with terminal: where the pty master goes ("" = fds 0/1)
};

class ProcessSession {
 public:
  // A new connection to the agent, without an I/O timeout (streams may block forever).
  using Connect = std::function<UniqueFd()>;

  // Attaches the streams, sets up the terminal and its size, starts the relay and sends the
  // WaitProcess. `control` is used during construction only (the first resize). Throws on
  // any failure; whatever was set up is undone.
  ProcessSession(protocol::Client& control, const Connect& connect, SessionConfig config);
  ProcessSession(const ProcessSession&) = delete;
  ProcessSession& operator=(const ProcessSession&) = delete;

  // Readable once the process has exited (or the agent's connection has gone).
  int wait_fd() const { return wait_->fd(); }
  // Once wait_fd() is readable (else it blocks): the exit status. Throws as ProcessWait does.
  int exit_status() { return wait_->exit_status(); }
  // The guest's pty to the host terminal's size (SIGWINCH); nothing without a terminal. The
  // agent refusing leaves the old size; other failures throw.
  void resize(protocol::Client& control);
  // Output written just before the exit is still on its way through the agent.
  bool wait_output(std::chrono::milliseconds timeout) { return relay_.wait_output(timeout); }

 private:
  SessionConfig config_;
  // Declared before the relay, so its threads are joined while these fds are open.
  UniqueFd terminal_;  // the host end of the process's terminal, when it has one
  std::optional<RawMode> raw_mode_;
  StdioRelay relay_;
  std::optional<protocol::ProcessWait> wait_;
};

}  // namespace kvrun::sandbox
