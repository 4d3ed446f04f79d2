// The agent's refusal of a request: raised by the agent's engine with the code that its error
// reply carries (docs/agent-protocol.md "Error codes"), and raised again on the host by
// Client::call from that reply, so that a caller acts on the code and never on the words.
#pragma once

#include <string>

#include "common/error_code.h"

namespace kvrun::protocol {

class AgentError : public CodedError {
 public:
  using CodedError::CodedError;
};

}  // namespace kvrun::protocol
