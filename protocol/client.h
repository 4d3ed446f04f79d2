// The host side of one agent connection, blocking: the shim and the tests use it. Connecting
// (unix socket, or vsock through the VMM's "CONNECT 1024" handshake) is the caller's business.
//
// The agent is a guest's process, so every reply is untrusted: its frame and JSON are bounded
// (framing.h, untrusted_json.h), its id must be the request's, its body must be what that kind
// of request is answered with (replies.h), and it must come within a timeout: a guest that
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

  // Sends body with the next id and returns its reply. Throws TimeoutError, JsonError (an
  // unreadable reply), ReplyError (another id, the wrong kind) or Error (connection closed).
  Reply call(const RequestBody& body);
  // call(), but an error reply becomes Error("<type>: <agent's error>").
  nlohmann::json call_ok(const RequestBody& body);

  int fd() const { return fd_.get(); }
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  UniqueFd fd_;
  std::chrono::milliseconds timeout_;
  std::uint64_t next_id_ = 1;
};

// Does body wait for an event (a process's exit, an OOM kill) before it is answered?
bool is_waiting_request(const RequestBody& body);

// The two halves of a call, for callers that poll the connection with other fds (the monitor's
// WaitProcess beside the sandbox's pidfd). send_request throws TimeoutError if the agent does
// not take the frame in time. receive_reply checks the reply as Client::call does; for a waiting
// request the first byte may take any time (call it once fd is readable), the rest must follow
// within timeout.
void send_request(int fd, const Request& request,
                  std::chrono::milliseconds timeout = kDefaultCallTimeout);
Reply receive_reply(int fd, const Request& request,
                    std::chrono::milliseconds timeout = kDefaultCallTimeout);

// Turns a fresh connection into the raw stream named by request (docs/agent-protocol.md).
// Throws Error with the agent's reason if it refuses, TimeoutError if it does not answer.
UniqueFd attach_stdio(UniqueFd connection, const AttachStdio& request,
                      std::chrono::milliseconds timeout = kDefaultCallTimeout);

// Gives the guest its links' names, MTUs, addresses and routes; once per agent, before the
// CreateContainer that sets `network`. Throws Error("ConfigureNetwork: <agent's error>").
void configure_network(Client& client, const ConfigureNetwork& request);

}  // namespace kvrun::protocol
