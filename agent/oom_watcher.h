// Notices OOM kills in containers' cgroups: the kernel signals a change of memory.events with an
// inotify modify event, and the oom_kill counter in it says whether a kill happened. Counting
// (not just noticing changes) means one report per kill even when events coalesce.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "agent/event_loop.h"
#include "common/unique_fd.h"

namespace kvrun::agent {

class OomWatcher {
 public:
  using OomHandler = std::function<void(const std::string& container_id)>;

  OomWatcher(EventLoop& loop, OomHandler on_oom);
  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;

  // Starts watching <cgroup>/memory.events; a cgroup without one (no memory controller) is
  // silently not watched.
  void add(const std::string& container_id, const std::filesystem::path& cgroup);
  // Reports kills not yet reported (a last look before the cgroup goes away), then forgets it.
  void remove(const std::string& container_id);

 private:
  struct Watched {
    std::string container_id;
    std::filesystem::path events_file;
    std::uint64_t oom_kills = 0;
  };
  void on_readable();
  void check(Watched& watched);

  UniqueFd inotify_;
  OomHandler on_oom_;
  std::map<int, Watched> watches_;  // by inotify watch descriptor
  EventLoop::Watch loop_watch_;
};

}  // namespace kvrun::agent
