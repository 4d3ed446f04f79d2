#include "common/error_code.h"

#include <array>
#include <utility>

namespace kvrun {
namespace {

constexpr std::array<std::pair<ErrorCode, std::string_view>, 5> kNames = {{
    {ErrorCode::kNotFound, "not_found"},
    {ErrorCode::kAlreadyExists, "already_exists"},
    {ErrorCode::kInvalidArgument, "invalid_argument"},
    {ErrorCode::kFailedPrecondition, "failed_precondition"},
    {ErrorCode::kInternal, "internal"},
}};

}  // namespace

std::string_view to_string(ErrorCode code) {
  for (const auto& [c, name] : kNames) {
    if (c == code) return name;
  }
  return "internal";
}

std::optional<ErrorCode> error_code_named(std::string_view name) {
  for (const auto& [code, n] : kNames) {
    if (n == name) return code;
  }
  return std::nullopt;
}

ErrorCode code_of(const std::exception& e) {
  const auto* coded = dynamic_cast<const CodedError*>(&e);
  return coded != nullptr ? coded->code() : ErrorCode::kInternal;
}

}  // namespace kvrun
