#include "shim/containerd/rpc_errors.h"

namespace kvrun::containerd {

ttrpc::Code rpc_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNotFound:
      return ttrpc::Code::kNotFound;
    case ErrorCode::kAlreadyExists:
      return ttrpc::Code::kAlreadyExists;
    case ErrorCode::kInvalidArgument:
      return ttrpc::Code::kInvalidArgument;
    case ErrorCode::kFailedPrecondition:
      return ttrpc::Code::kFailedPrecondition;
    case ErrorCode::kInternal:
      return ttrpc::Code::kUnknown;
  }
  return ttrpc::Code::kUnknown;
}

void throw_rpc_error(const std::exception& e) {
  if (const auto* rpc = dynamic_cast<const ttrpc::RpcError*>(&e)) throw *rpc;
  throw ttrpc::RpcError(rpc_code(code_of(e)), e.what());
}

}  // namespace kvrun::containerd
