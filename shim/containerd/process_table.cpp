#include "shim/containerd/process_table.h"

#include "shim/containerd/ttrpc/status.h"

namespace kvrun::containerd {
namespace {

ProcessRecord copy_of(const ProcessRecord& record) {
  ProcessRecord copy;
  copy.exec_id = record.exec_id;
  copy.paths = record.paths;
  copy.terminal = record.terminal;
  copy.spec_path = record.spec_path;
  copy.pid = record.pid;
  copy.status = record.status;
  copy.exit = record.exit;
  return copy;  // the stdio stays with the table
}

std::string describe(const std::string& exec_id) {
  return exec_id.empty() ? "init process" : "process " + exec_id;
}

}  // namespace

void ProcessTable::add(ProcessRecord record) {
  std::lock_guard lock(mutex_);
  if (processes_.contains(record.exec_id)) {
    throw ttrpc::RpcError(ttrpc::Code::kAlreadyExists,
                          describe(record.exec_id) + " already exists");
  }
  std::string key = record.exec_id;
  processes_.emplace(key, std::move(record));
}

ProcessRecord& ProcessTable::find(const std::string& exec_id) {
  auto it = processes_.find(exec_id);
  if (it == processes_.end()) {
    throw ttrpc::RpcError(ttrpc::Code::kNotFound, describe(exec_id) + " does not exist");
  }
  return it->second;
}

const ProcessRecord& ProcessTable::find(const std::string& exec_id) const {
  return const_cast<ProcessTable*>(this)->find(exec_id);
}

ProcessRecord ProcessTable::snapshot(const std::string& exec_id) const {
  std::lock_guard lock(mutex_);
  return copy_of(find(exec_id));
}

bool ProcessTable::contains(const std::string& exec_id) const {
  std::lock_guard lock(mutex_);
  return processes_.contains(exec_id);
}

std::vector<ProcessRecord> ProcessTable::snapshot_all() const {
  std::lock_guard lock(mutex_);
  std::vector<ProcessRecord> all;
  for (const auto& [id, record] : processes_) all.push_back(copy_of(record));
  return all;
}

void ProcessTable::set_started(const std::string& exec_id, pid_t pid) {
  std::lock_guard lock(mutex_);
  auto& record = find(exec_id);
  record.pid = pid;
  if (!record.exit) record.status = ProcessStatus::kRunning;
}

void ProcessTable::set_status(const std::string& exec_id, ProcessStatus status) {
  std::lock_guard lock(mutex_);
  auto& record = find(exec_id);
  if (!record.exit) record.status = status;
}

ProcessRecord ProcessTable::set_exited(const std::string& exec_id, int status) {
  std::lock_guard lock(mutex_);
  auto& record = find(exec_id);
  record.status = ProcessStatus::kStopped;
  record.exit = ExitInfo{status, std::chrono::system_clock::now()};
  record.stdio.reset();
  exited_.notify_all();
  return copy_of(record);
}

void ProcessTable::close_stdin(const std::string& exec_id) {
  std::lock_guard lock(mutex_);
  auto& record = find(exec_id);
  if (record.stdio) record.stdio->close_stdin();
}

std::array<int, 3> ProcessTable::child_stdio(const std::string& exec_id) const {
  std::lock_guard lock(mutex_);
  const auto& record = find(exec_id);
  if (!record.stdio) return {-1, -1, -1};
  return {record.stdio->in(), record.stdio->out(), record.stdio->err()};
}

void ProcessTable::release_child_ends(const std::string& exec_id) {
  std::lock_guard lock(mutex_);
  auto& record = find(exec_id);
  if (record.stdio) record.stdio->release_child_ends();
}

void ProcessTable::attach_terminal(const std::string& exec_id,
                                   std::unique_ptr<ProcessTerminal> terminal) {
  std::lock_guard lock(mutex_);
  find(exec_id).terminal_io = std::move(terminal);
}

std::unique_ptr<ProcessTerminal> ProcessTable::take_terminal(const std::string& exec_id) {
  std::lock_guard lock(mutex_);
  return std::move(find(exec_id).terminal_io);
}

ExitInfo ProcessTable::wait(const std::string& exec_id) {
  std::unique_lock lock(mutex_);
  find(exec_id);
  exited_.wait(lock, [&] {
    auto it = processes_.find(exec_id);
    return it == processes_.end() || it->second.exit.has_value();
  });
  auto it = processes_.find(exec_id);
  if (it == processes_.end()) {
    throw ttrpc::RpcError(ttrpc::Code::kNotFound, describe(exec_id) + " was deleted");
  }
  return *it->second.exit;
}

ProcessRecord ProcessTable::remove(const std::string& exec_id) {
  std::lock_guard lock(mutex_);
  ProcessRecord record = std::move(find(exec_id));
  processes_.erase(exec_id);
  exited_.notify_all();
  return record;
}

}  // namespace kvrun::containerd
