// Text from an untrusted peer (a guest, a VMM) made fit for one line of an error message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kvrun {

// Printable ASCII kept, every other byte as \xNN (a guest's terminal escapes, invalid UTF-8),
// at most max_bytes of the input, then "...". Error messages end up on terminals, in JSON logs
// and in protobuf strings, which must be valid UTF-8.
std::string printable(std::string_view text, std::size_t max_bytes = 64);

}  // namespace kvrun
