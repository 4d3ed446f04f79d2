// A child's stdout and stderr kept in a log file of bounded size. The child writes into a pipe;
// a thread of the monitor appends what arrives to `path` and, before the file would grow past
// `max_bytes`, renames it to `path`.1 (replacing the older one) and starts a new `path`. So
// however much a guest prints on its console, its log holds at most 2 x max_bytes of the
// host's memory (the state dir is on tmpfs).
//
// Why the monitor and not kvrun-vmm: the VMM runs jailed (own uid, pivoted into an empty root,
// seccomp), where renaming files in the state dir is neither possible nor wanted; it only
// write()s to the pipe it was given. The monitor is not jailed and lives as long as the VM.
// The VMM's own rate limit (vmm/console_output.h) bounds how fast this log turns over.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include "common/unique_fd.h"

namespace kvrun::sandbox {

inline constexpr uint64_t kDefaultLogMaxBytes = 1 << 20;
// Smallest cap accepted: one read from the pipe must fit into an empty file.
inline constexpr uint64_t kMinLogMaxBytes = 64 * 1024;

class CappedLog {
 public:
  // Opens `path` for appending (mode 0600) and starts the thread. Throws Error (with the path)
  // if the file or the pipe cannot be made, or `max_bytes` is below kMinLogMaxBytes.
  CappedLog(std::filesystem::path path, uint64_t max_bytes);
  // Takes what the child wrote until it closed its end (waiting a bounded time), then stops.
  ~CappedLog();
  CappedLog(const CappedLog&) = delete;
  CappedLog& operator=(const CappedLog&) = delete;

  // The pipe's write end, for the child's fds 1 and 2 (close-on-exec here).
  int child_fd() const { return child_end_.get(); }
  // Once the child has its copy: from then on the log sees EOF when the child's end closes.
  void close_child_fd() { child_end_.reset(); }

  // Waits until everything the child wrote is in the file and its end is closed; false on
  // timeout (a process that inherited the end still holds it).
  bool wait_closed(std::chrono::milliseconds timeout);

  const std::filesystem::path& path() const { return path_; }
  static std::filesystem::path rotated_path(const std::filesystem::path& path);

 private:
  void run();
  void append(const char* data, size_t size);
  void write_file(const char* data, size_t size);
  void rotate();

  std::filesystem::path path_;
  uint64_t max_bytes_;
  UniqueFd file_;
  uint64_t size_ = 0;
  UniqueFd read_end_, child_end_;
  UniqueFd stop_;  // eventfd: the destructor's request to stop
  std::mutex mutex_;
  std::condition_variable closed_cv_;
  bool closed_ = false;
  std::thread thread_;
};

// The text of a capped log, rotated part first: what the last lines are looked up in.
std::string read_capped_log(const std::filesystem::path& path);

}  // namespace kvrun::sandbox
