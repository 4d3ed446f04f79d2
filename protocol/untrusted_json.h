// Parsing JSON that another party wrote: a guest's agent, a VMM, a request. nlohmann's parser
// itself is iterative, but the trees it builds are copied, compared and dumped by recursion, one
// stack frame per level: a reply nested a million levels deep (4 MiB of '[') crashes whoever
// touches it. So the text is checked first, in one pass that keeps no stack: its size, its
// nesting depth (brackets inside strings do not count) and that it is valid UTF-8 throughout;
// only then does nlohmann build the tree. Every failure is one JsonError with a kind.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/error.h"

namespace kvrun::protocol {

// Deep enough for any OCI config (its deepest path, linux.seccomp.syscalls[].args[], is about
// eight levels inside a request) and far below what recursion over the tree can survive.
inline constexpr std::size_t kMaxJsonDepth = 64;

// A tree costs far more than its text: 4 MiB of "[{},{},...]" is 1.4 million objects, 107 MiB
// of heap. Bounding the values bounds that (to about 20 MiB); no request or reply comes near it
// (a default seccomp profile is a few thousand values).
inline constexpr std::size_t kMaxJsonValues = 256 * 1024;

struct JsonLimits {
  std::size_t max_depth = kMaxJsonDepth;
  std::size_t max_bytes = 4 * 1024 * 1024;  // the frame maximum (framing.h)
  std::size_t max_values = kMaxJsonValues;  // arrays' elements and objects' members, all levels
};

class JsonError : public Error {
 public:
  enum class Kind { kTooLarge, kTooDeep, kTooManyValues, kInvalidUtf8, kMalformed };
  JsonError(Kind kind, const std::string& message) : Error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// Throws JsonError("<what>: <reason>"), e.g. "reply: JSON nested deeper than 64 levels". The
// result is never "discarded" and nlohmann's own exceptions do not escape.
nlohmann::json parse_untrusted_json(std::string_view text, std::string_view what,
                                    const JsonLimits& limits = {});

// The depth/UTF-8/size check alone (parse_untrusted_json runs it first). Throws JsonError.
void check_untrusted_json(std::string_view text, std::string_view what,
                          const JsonLimits& limits = {});

}  // namespace kvrun::protocol
