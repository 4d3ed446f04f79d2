#include "common/error.h"

#include <cstring>

namespace kvrun {

void throw_errno(std::string_view what, int err) {
  throw Error(std::string(what) + ": " + std::strerror(err));
}

}  // namespace kvrun
