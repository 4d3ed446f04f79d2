// The host side of one agent connection, blocking: the shim and the tests use it. Connecting
// (unix socket, or vsock through the VMM's "CONNECT 1024" handshake) is the caller's business.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
#include "protocol/messages.h"

namespace kvrun::protocol {

class Client {
 public:
  explicit Client(UniqueFd connection) : fd_(std::move(connection)) {}

  // Sends body with the next id and returns the matching reply. Throws Error if the agent
  // closes the connection or answers with another id.
  Reply call(const RequestBody& body);
  // call(), but an error reply becomes Error("<type>: <agent's error>").
  nlohmann::json call_ok(const RequestBody& body);

  int fd() const { return fd_.get(); }

 private:
  UniqueFd fd_;
  std::uint64_t next_id_ = 1;
};

// Turns a fresh connection into the raw stream named by request (docs/agent-protocol.md).
// Throws Error with the agent's reason if it refuses.
UniqueFd attach_stdio(UniqueFd connection, const AttachStdio& request);

// Gives the guest its links' names, MTUs, addresses and routes; once per agent, before the
// CreateContainer that sets `network`. Throws Error("ConfigureNetwork: <agent's error>").
void configure_network(Client& client, const ConfigureNetwork& request);

}  // namespace kvrun::protocol
