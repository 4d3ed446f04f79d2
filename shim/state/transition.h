// The one way a container's status changes (as runc's state_linux.go transition()): every
// writer of state.json goes through it, so an illegal change is refused where it is made
// instead of being written for the next command to trip over.
#pragma once

#include "shim/state/container_state.h"

namespace kvrun::state {

// creating -> created (the monitor, once the container waits for start); created -> running
// (start); running <-> paused (pause, resume); anything -> stopped (the monitor, or a reader
// that finds the monitor gone), stopped included, as stopping is always the last word.
bool transition_allowed(Status from, Status to);

// Sets container.status to `to`. Throws CodedError(kFailedPrecondition, "invalid state
// transition from X to Y") and leaves it unchanged when transition_allowed says no.
void transition(ContainerState& container, Status to);

}  // namespace kvrun::state
