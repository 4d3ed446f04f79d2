// What each kind of request is answered with (docs/agent-protocol.md), checked on the host
// before anyone reads a reply: the agent is a guest's process. A reply that names another
// request's id, or whose body is not of its request's kind (a WaitProcess answered with a pid,
// an exit status of "0" or 1e9), is a ReplyError naming the field, so that callers can read the
// fields they need without a type check of their own and no nlohmann exception escapes them.
#pragma once

#include <cstdint>
#include <string>

#include "common/error.h"
#include "protocol/messages.h"

namespace kvrun::protocol {

class ReplyError : public Error {
 public:
  enum class Kind { kWrongId, kWrongKind };
  ReplyError(Kind kind, const std::string& message) : Error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// Throws ReplyError("<type>: ...") unless reply answers request: the same id and, when ok, a body
// of the request's kind (unknown fields are refused, as in requests).
void check_reply(const Request& request, const Reply& reply);

// WaitProcess's exit status from a reply that check_reply accepted.
int exit_status_of(const Reply& reply);

}  // namespace kvrun::protocol
