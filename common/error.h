// Errors in kvrun are exceptions carrying one human-readable line of context.
// Library code throws kvrun::Error; binaries catch it at main() and print what().
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace kvrun {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws Error("<what>: <strerror(err)>").
[[noreturn]] void throw_errno(std::string_view what, int err = errno);

}  // namespace kvrun
