// One containerd task (a container and its execs) driven through the kvrun CLI: the Task
// service's methods in containerd's own request/response types. Lifecycle commands run one at
// a time; Wait, State and Kill can run beside them.
#pragma once

#include <atomic>
#include <filesystem>
#include <mutex>
#include <string>

#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "shim/containerd/events.h"
#include "shim/containerd/kvrun_command.h"
#include "shim/containerd/process_table.h"
#include "shim/containerd/reaper.h"

namespace kvrun::containerd {

namespace api = ::containerd::task::v2;

struct TaskOptions {
  std::string id;
  std::filesystem::path bundle;
  std::filesystem::path kvrun;
  std::filesystem::path kvrun_root;  // kvrun --root
};

class Task {
 public:
  Task(TaskOptions options, Reaper& reaper, EventPublisher& events);

  api::CreateTaskResponse create(const api::CreateTaskRequest& request);
  api::StartResponse start(const api::StartRequest& request);
  void exec(const api::ExecProcessRequest& request);
  api::WaitResponse wait(const api::WaitRequest& request);
  void kill(const api::KillRequest& request);
  api::DeleteResponse remove(const api::DeleteRequest& request);
  api::StateResponse state(const api::StateRequest& request);
  api::PidsResponse pids(const api::PidsRequest& request);
  void pause(const api::PauseRequest& request);
  void resume(const api::ResumeRequest& request);
  void close_io(const api::CloseIORequest& request);
  api::StatsResponse stats(const api::StatsRequest& request);
  api::ConnectResponse connect(const api::ConnectRequest& request);
  void resize_pty(const api::ResizePtyRequest& request);
  void update(const api::UpdateTaskRequest& request);
  // True once the init has been deleted (or never created): Shutdown may end the shim.
  bool finished() const;
  // Best effort for a shim that is told to go while its container still exists.
  void force_cleanup();

 private:
  void check_id(const std::string& id) const;
  void watch_exit(const std::string& exec_id, pid_t pid);
  std::unique_ptr<ProcessTerminal> run_process_command(std::vector<std::string> args,
                                                       bool terminal,
                                                       const std::array<int, 3>& stdio);
  pid_t read_pid_file(const std::filesystem::path& path) const;

  TaskOptions options_;
  Reaper& reaper_;
  EventPublisher& events_;
  KvrunCommand kvrun_;
  ProcessTable processes_;
  std::mutex lifecycle_;         // one kvrun lifecycle command at a time
  bool rootfs_mounted_ = false;  // under lifecycle_
  std::atomic<bool> created_ = false;
  std::atomic<bool> deleted_ = false;
};

}  // namespace kvrun::containerd
