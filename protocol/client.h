// The host side of one agent connection, blocking: the shim and the tests use it. Connecting
// (unix socket, or vsock through the VMM's "CONNECT 1024" handshake) is the caller's business.
//
// The agent is a guest's process, so every reply is untrusted: its frame and JSON are bounded
// (framing.h, untrusted_json.h), its id must be the request's, its body must be what that kind
// of request is answered with (replies.h, decoded into R::Reply), an error reply is an AgentError
// with the agent's code, and it must come within a timeout: a guest that
// accepts and then never answers fails the call with TimeoutError instead of hanging the
// monitor, the CLI or the containerd shim. Requests that are answered by an event (WaitProcess,
// GetOomEvent) wait for their reply's first byte without a bound; such a wait ends when the
// sandbox dies, because its connection closes with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/deadline_io.h"
#include "common/unique_fd.h"
#include "protocol/messages.h"
#include "protocol/replies.h"

namespace kvrun::protocol {

// From sending a request to the last byte of its reply. Container creation in a VM under
// nested emulation takes seconds; a minute means a guest that does not answer.
inline constexpr std::chrono::milliseconds kDefaultCallTimeout{60000};

class Client {
 public:
  // Each call is bounded by call_timeout.
  Client(UniqueFd connection, std::chrono::milliseconds call_timeout)
      : fd_(std::move(connection)), timeout_(call_timeout) {}
  // Bounded by the connection's receive timeout when one is set (sandbox::set_io_timeout, or
  // connect_agent's), else by kDefaultCallTimeout.
  explicit Client(UniqueFd connection);

  // Sends request with the next id and returns its reply. Throws AgentError (the agent refused:
  // "<type>: <agent's error>" and its code), TimeoutError, JsonError (an unreadable reply),
  // ReplyError (another id, the wrong kind) or Error (connection closed).
  template <typename R>
  typename R::Reply call(const R& request) {
    std::uint64_t id = next_id_++;
    return decode_reply_for<R>(id, exchange({id, request}));
  }

  int fd() const { return fd_.get(); }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  ReplyEnvelope exchange(const Request& request);

  UniqueFd fd_;
  std::chrono::milliseconds timeout_;
  std::uint64_t next_id_ = 1;
};

// Does body wait for an event (a process's exit, an OOM kill) before it is answered?
bool is_waiting_request(const RequestBody& body);

// The two halves of a call, for callers that poll the connection with other fds. send_request
// throws TimeoutError if the agent does not take the frame in time. receive_envelope reads the
// reply as Client::call does, leaving its id and body to decode_reply_for; for a waiting request
// the first byte may take any time (call it once fd is readable), the rest must follow within
// timeout.
void send_request(int fd, const Request& request,
                  std::chrono::milliseconds timeout = kDefaultCallTimeout);
ReplyEnvelope receive_envelope(int fd, const Request& request,
                               std::chrono::milliseconds timeout = kDefaultCallTimeout);

// A WaitProcess on a connection of its own, sent at once and answered when the process exits,
// for the monitors, which poll fd() beside the sandbox and their signals.
class ProcessWait {
 public:
  // Throws as send_request does.
  ProcessWait(UniqueFd connection, WaitProcess request,
              std::chrono::milliseconds timeout = kDefaultCallTimeout);
  int fd() const { return fd_.get(); }
  // Once fd() is readable (else it blocks): the exit status. The reply, once its first byte is
  // there, must come whole within the timeout. Throws as Client::call does.
  int exit_status();

 private:
  UniqueFd fd_;
  Request request_;
  std::chrono::milliseconds timeout_;
};

// Turns a fresh connection into the raw stream named by request (docs/agent-protocol.md).
// Throws Error with the agent's reason if it refuses, TimeoutError if it does not answer.
UniqueFd attach_stdio(UniqueFd connection, const AttachStdio& request,
                      std::chrono::milliseconds timeout = kDefaultCallTimeout);

// Gives the guest its links' names, MTUs, addresses and routes; once per agent, before the
// CreateContainer that sets `network`. Throws AgentError("ConfigureNetwork: <agent's error>").
void configure_network(Client& client, const ConfigureNetwork& request);

}  // namespace kvrun::protocol
