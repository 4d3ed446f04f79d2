// gRPC status codes as ttrpc carries them in google.rpc.Status; containerd turns them into its
// error kinds (NotFound -> "not found", Unimplemented -> "not implemented", ...).
#pragma once

#include <string>

#include "common/error.h"

namespace kvrun::containerd::ttrpc {

enum class Code : int {
  kOk = 0,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kFailedPrecondition = 9,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
};

// An error with the status code the caller should see.
class RpcError : public Error {
 public:
  RpcError(Code code, const std::string& message) : Error(message), code_(code) {}
  Code code() const { return code_; }

 private:
  Code code_;
};

}  // namespace kvrun::containerd::ttrpc
