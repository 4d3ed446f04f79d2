// What kind of failure an error is, for callers on the other side of a process boundary (the
// agent's replies, the kvrun CLI's log) that must act on it without reading its words: the
// containerd shim maps each to a ttrpc status, the CLI to an exit status.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace kvrun {

// gRPC's names for the few kinds kvrun tells apart (docs/agent-protocol.md "Error codes").
enum class ErrorCode {
  kNotFound,            // no such container or process, or it has gone (exited)
  kAlreadyExists,       // the id is taken
  kInvalidArgument,     // the request or its config is malformed
  kFailedPrecondition,  // not in a state that allows it (not running, not paused, ...)
  kInternal,            // anything else: the system failed
};

// "not_found", "already_exists", "invalid_argument", "failed_precondition", "internal".
std::string_view to_string(ErrorCode code);
// The code so named, or nullopt for a name this build does not know.
std::optional<ErrorCode> error_code_named(std::string_view name);

// An Error whose code callers act on. Errors without one are kInternal (code_of).
class CodedError : public Error {
 public:
  CodedError(ErrorCode code, const std::string& message) : Error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// e's code if it is a CodedError, else kInternal.
ErrorCode code_of(const std::exception& e);

}  // namespace kvrun
