// The processes of one task as the shim tracks them: the init (exec id "") and containerd's
// execs, each with its monitor's PID (kvrun's --pid-file), status and exit. Waiting for an
// exit blocks on the table's condition variable.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shim/containerd/process_terminal.h"
#include "shim/containerd/stdio.h"

namespace kvrun::containerd {

enum class ProcessStatus { kCreated, kRunning, kPaused, kStopped };

struct ExitInfo {
  int status = 0;
  std::chrono::system_clock::time_point at;
};

struct ProcessRecord {
  std::string exec_id;  // "" = the init
  StdioPaths paths;
  bool terminal = false;
  std::unique_ptr<ProcessStdio> stdio;  // until the process has exited
  std::unique_ptr<ProcessTerminal> terminal_io;  // a started terminal process, until it exits
  std::string spec_path;                // exec: the runtime-spec Process JSON
  pid_t pid = 0;
  ProcessStatus status = ProcessStatus::kCreated;
  std::optional<ExitInfo> exit;
};

class ProcessTable {
 public:
  // Throws RpcError(AlreadyExists).
  void add(ProcessRecord record);
  // Throws RpcError(NotFound) for an unknown exec id.
  ProcessRecord snapshot(const std::string& exec_id) const;
  bool contains(const std::string& exec_id) const;
  std::vector<ProcessRecord> snapshot_all() const;
  void set_started(const std::string& exec_id, pid_t pid);
  void set_status(const std::string& exec_id, ProcessStatus status);
  // Records the exit and wakes waiters; returns the record as it now is.
  ProcessRecord set_exited(const std::string& exec_id, int status);
  void close_stdin(const std::string& exec_id);
  // The fds a kvrun command gets as its stdio (-1 = none); valid until release_child_ends().
  std::array<int, 3> child_stdio(const std::string& exec_id) const;
  void release_child_ends(const std::string& exec_id);
  void attach_terminal(const std::string& exec_id, std::unique_ptr<ProcessTerminal> terminal);
  // The process's terminal, for draining once it has exited (nullptr if none).
  std::unique_ptr<ProcessTerminal> take_terminal(const std::string& exec_id);
  // Blocks until the process has exited. Throws RpcError(NotFound).
  ExitInfo wait(const std::string& exec_id);
  // Removes the record. Throws RpcError(NotFound).
  ProcessRecord remove(const std::string& exec_id);

 private:
  ProcessRecord& find(const std::string& exec_id);  // lock held
  const ProcessRecord& find(const std::string& exec_id) const;

  mutable std::mutex mutex_;
  std::condition_variable exited_;
  std::map<std::string, ProcessRecord> processes_;
};

}  // namespace kvrun::containerd
