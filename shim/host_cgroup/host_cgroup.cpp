#include "shim/host_cgroup/host_cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::host_cgroup {
namespace {

// How long delete waits for the killed tasks of a cgroup to leave it before giving up on it.
constexpr auto kDrainTimeout = std::chrono::seconds(5);

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("host cgroup: read " + path.string() + ": cannot open");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_file(const std::filesystem::path& path, const std::string& value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_errno("host cgroup: open " + path.string());
  // cgroupfs takes a value in one write; a short write would be a different value.
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size()))
    throw_errno("host cgroup: write \"" + value + "\" to " + path.string());
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string word; in >> word;) out.push_back(word);
  return out;
}

bool on_cgroupfs(const std::filesystem::path& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0) return false;
  return fs.f_type == CGROUP_SUPER_MAGIC || fs.f_type == CGROUP2_SUPER_MAGIC;
}

std::vector<pid_t> tasks_of(const std::filesystem::path& leaf) {
  std::vector<pid_t> pids;
  std::ifstream in(leaf / "cgroup.procs");
  for (long pid; in >> pid;)
    if (pid > 0) pids.push_back(static_cast<pid_t>(pid));
  return pids;
}

// Everything in a cgroup kvrun created is the container's: kill it. A pid is signalled through
// a pidfd taken while the pid is still listed, so a recycled pid is never hit.
void kill_tasks(const std::filesystem::path& leaf) {
  if (std::filesystem::exists(leaf / "cgroup.kill")) {
    try {
      write_file(leaf / "cgroup.kill", "1");
      return;
    } catch (const Error&) {
    }
  }
  for (pid_t pid : tasks_of(leaf)) {
    if (pid == ::getpid()) continue;
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) continue;
    auto now = tasks_of(leaf);
    if (std::find(now.begin(), now.end(), pid) == now.end()) continue;
    ::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGKILL, nullptr, 0);
  }
}

void remove_leaf(const std::filesystem::path& leaf) {
  auto deadline = std::chrono::steady_clock::now() + kDrainTimeout;
  for (;;) {
    kill_tasks(leaf);
    if (::rmdir(leaf.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY || std::chrono::steady_clock::now() >= deadline) {
      spdlog::warn("host cgroup: cannot remove {}: {} ({} tasks left)", leaf.string(),
                   std::strerror(errno), tasks_of(leaf).size());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void remove_all(const std::vector<Created>& created) {
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    if (!on_cgroupfs(it->dir)) {
      if (std::filesystem::exists(it->dir))
        spdlog::warn("host cgroup: {} is not on a cgroup filesystem; left alone", it->dir.string());
      continue;
    }
    if (it->leaf) {
      remove_leaf(it->dir);
    } else if (::rmdir(it->dir.c_str()) != 0 && errno != ENOENT && errno != EBUSY &&
               errno != ENOTEMPTY) {
      // A parent other containers' cgroups still live in stays, quietly.
      spdlog::warn("host cgroup: cannot remove {}: {}", it->dir.string(), std::strerror(errno));
    }
  }
}

void write_record(const std::filesystem::path& state_dir, const std::vector<Created>& created) {
  std::string text;
  for (const auto& c : created) {
    if (c.dir.string().find('\n') != std::string::npos)
      throw Error("host cgroup: " + c.dir.string() + ": a newline in the path");
    text += (c.leaf ? "leaf " : "parent ") + c.dir.string() + "\n";
  }
  auto temporary = state_dir / (std::string(kRecordFile) + ".tmp");
  {
    UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd) throw_errno("open " + temporary.string());
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw_errno("write " + temporary.string());
  }
  if (::rename(temporary.c_str(), (state_dir / kRecordFile).c_str()) != 0)
    throw_errno("rename " + temporary.string());
}

// v1 cpuset: a new cgroup has no CPUs and no memory nodes, and refuses tasks until given some.
void inherit_cpuset(const std::filesystem::path& parent, const std::filesystem::path& child) {
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    if (trim(read_file(child / file)).empty())
      write_file(child / file, trim(read_file(parent / file)));
  }
}

std::set<std::string> needed_controllers(const std::vector<Setting>& settings) {
  std::set<std::string> out;
  for (const auto& s : settings) out.insert(s.controller);
  return out;
}

}  // namespace

HostCgroup::HostCgroup(HostCgroup&& other) noexcept
    : created_(std::move(other.created_)), leaves_(std::move(other.leaves_)) {
  other.created_.clear();
}

HostCgroup::~HostCgroup() { remove_all(created_); }

std::vector<std::filesystem::path> HostCgroup::leaves() const { return leaves_; }

HostCgroup HostCgroup::create(const std::vector<Hierarchy>& hierarchies, const CgroupPath& path,
                              const HostLimits& limits, const std::filesystem::path& state_dir) {
  for (const auto& h : hierarchies) {
    auto leaf = directory_for(h, path);
    if (std::filesystem::exists(leaf))
      throw Error("host cgroup " + leaf.string() +
                  " already exists (another container's, or left over: kvrun only uses cgroups "
                  "it creates)");
  }
  HostCgroup cgroup;
  auto v1 = v1_settings(limits), v2 = v2_settings(limits);
  std::set<std::string> applied;
  for (const auto& h : hierarchies) {
    auto leaf = directory_for(h, path);
    auto wanted = needed_controllers(v2);
    std::filesystem::path dir = h.mount;
    for (const auto& part : leaf.lexically_relative(h.mount)) {
      auto parent = dir;
      dir /= part;
      bool is_leaf = dir == leaf;
      if (h.unified) {
        // Controllers reach a v2 cgroup only through every ancestor's subtree_control.
        std::string enable;
        auto enabled = words(read_file(parent / "cgroup.subtree_control"));
        for (const auto& c : words(read_file(parent / "cgroup.controllers")))
          if (wanted.count(c) && std::find(enabled.begin(), enabled.end(), c) == enabled.end())
            enable += (enable.empty() ? "+" : " +") + c;
        if (!enable.empty()) write_file(parent / "cgroup.subtree_control", enable);
      }
      if (::mkdir(dir.c_str(), 0755) != 0) {
        if (errno != EEXIST || is_leaf) throw_errno("host cgroup: mkdir " + dir.string());
        continue;  // a parent that exists is someone else's: never recorded, never removed
      }
      cgroup.created_.push_back({dir, is_leaf});
      if (!h.unified && h.has("cpuset")) inherit_cpuset(parent, dir);
    }
    cgroup.leaves_.push_back(leaf);
    if (h.unified) {
      auto available = words(read_file(leaf / "cgroup.controllers"));
      for (const auto& s : v2) {
        if (std::find(available.begin(), available.end(), s.controller) == available.end())
          continue;
        write_file(leaf / s.file, s.value);
        applied.insert(s.controller);
      }
    } else {
      for (const auto& s : v1) {
        if (!h.has(s.controller)) continue;
        write_file(leaf / s.file, s.value);
        applied.insert(s.controller);
      }
    }
  }
  for (const auto& c : needed_controllers(v2))
    if (!applied.count(c))
      spdlog::warn("host cgroup {}: no {} controller on this host; that limit is not applied",
                   path.path, c);
  write_record(state_dir, cgroup.created_);
  return cgroup;
}

void HostCgroup::join() const {
  std::string pid = std::to_string(::getpid());
  for (const auto& leaf : leaves_) write_file(leaf / "cgroup.procs", pid);
}

std::optional<HostCgroup> create_sandbox_cgroup(const SandboxCgroupRequest& request) {
  // Refuse a hostile spec before looking at the host.
  CgroupPath path = parse_cgroups_path(spec_cgroups_path(*request.config),
                                       default_leaf(request.state_root, request.id));
  HostLimits limits = host_limits(*request.config, request.guest_memory_mib);
  auto hierarchies = host_hierarchies();
  if (hierarchies.empty()) {
    // Info, not a warning: kvrun's stderr is the container's in the engines' eyes (and the
    // tests'), and a machine without cgroups (the nested test VM) is not an error.
    spdlog::info(
        "no cgroup filesystem mounted: container {} is neither accounted nor limited "
        "on the host",
        request.id);
    return std::nullopt;
  }
  auto cgroup = HostCgroup::create(hierarchies, path, limits, request.state_dir);
  spdlog::debug("container {}: host cgroup {} on {} hierarchies", request.id, path.path,
                hierarchies.size());
  return cgroup;
}

std::vector<Created> parse_record(const std::string& text) {
  std::vector<Created> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    bool leaf = line.rfind("leaf /", 0) == 0;
    if (!leaf && line.rfind("parent /", 0) != 0) continue;
    std::filesystem::path dir = line.substr(line.find(' ') + 1);
    bool dotted = std::any_of(dir.begin(), dir.end(),
                              [](const auto& part) { return part == ".." || part == "."; });
    if (!dotted) out.push_back({dir, leaf});
  }
  return out;
}

void remove_recorded(const std::filesystem::path& state_dir) {
  auto record = state_dir / kRecordFile;
  std::string text;
  try {
    if (!std::filesystem::exists(record)) return;
    text = read_file(record);
  } catch (const std::exception& e) {
    spdlog::warn("host cgroup record {}: {}", record.string(), e.what());
    return;
  }
  remove_all(parse_record(text));
  std::error_code ec;
  std::filesystem::remove(record, ec);
}

}  // namespace kvrun::host_cgroup
