// A process's pseudo-terminal (process.terminal: true). It is opened inside the container
// (after pivot_root, or after joining its mount namespace for exec), so the process sees its own
// /dev/pts/N; the master end travels to the agent over the sync channel and becomes the process's
// stdout stream (and its stdin stream, written to the same master).
#pragma once

#include "common/unique_fd.h"
#include "spec/spec.h"

namespace kvrun::agent {

struct Pty {
  UniqueFd master, slave;
};

// Opens /dev/ptmx of the current root (refusing anything but the ptmx device) and its slave,
// sized as the spec asks.
Pty open_pty(const spec::ProcessSpec& process);

// Child side, just before exec: a new session whose controlling terminal is slave, on 0-2.
void make_controlling_terminal(int slave);

// Agent side: TIOCSWINSZ on the master.
void resize_pty(int master, unsigned short rows, unsigned short cols);

}  // namespace kvrun::agent
