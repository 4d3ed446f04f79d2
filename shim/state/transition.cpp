#include "shim/state/transition.h"

#include <string>

#include "common/error.h"
#include "common/error_code.h"

namespace kvrun::state {

bool transition_allowed(Status from, Status to) {
  if (to == Status::kStopped) return true;
  switch (from) {
    case Status::kCreating:
      return to == Status::kCreated;
    case Status::kCreated:
      return to == Status::kRunning;
    case Status::kRunning:
      return to == Status::kPaused;
    case Status::kPaused:
      return to == Status::kRunning;
    case Status::kStopped:
      return false;
  }
  return false;
}

void transition(ContainerState& container, Status to) {
  if (!transition_allowed(container.status, to))
    throw CodedError(ErrorCode::kFailedPrecondition, "invalid state transition from " +
                                                         std::string(to_string(container.status)) +
                                                         " to " + std::string(to_string(to)));
  container.status = to;
}

}  // namespace kvrun::state
