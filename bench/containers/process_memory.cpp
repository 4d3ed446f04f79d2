// Memory of running sandboxes for bench/containers/run.sh: for each root PID given (a kvrun
// monitor, a runc/crun container's init), sums RSS and PSS (/proc/<pid>/smaps_rollup) over the
// process and all its descendants. A kvrun-vmm among them is split further with bench/boot's
// smaps parser: its guest RAM actually touched, and its own overhead (RSS without guest RAM).
// The guest RAM size comes from the VMM's own --memory argument. Prints one line of key=value
// pairs (KiB); a process that exits while being read is skipped.
//
// Usage: process-memory PID [PID...]
// Exit status: 0, 1 if a root PID does not exist or a VMM's smaps does not parse, 2 bad usage.
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/boot/smaps.h"

namespace {

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Parent of every process, from /proc/<pid>/stat (the field after the last ')' of comm).
std::multimap<pid_t, pid_t> children_by_parent() {
  std::multimap<pid_t, pid_t> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || pid <= 0) continue;
    auto stat = read_file("/proc/" + std::string(entry->d_name) + "/stat");
    if (!stat) continue;
    size_t paren = stat->rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream rest(stat->substr(paren + 1));
    char state = 0;
    long parent = 0;
    if (rest >> state >> parent) {
      children.emplace(static_cast<pid_t>(parent), static_cast<pid_t>(pid));
    }
  }
  closedir(proc);
  return children;
}

// "Rss:" and "Pss:" of smaps_rollup, in KiB; nullopt if the process is gone.
std::optional<std::pair<uint64_t, uint64_t>> rss_pss(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/smaps_rollup");
  if (!text || text->empty()) return std::nullopt;
  uint64_t rss = 0, pss = 0;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string key;
    uint64_t kib = 0;
    if (!(fields >> key >> kib)) continue;
    if (key == "Rss:") rss = kib;
    if (key == "Pss:") pss = kib;
  }
  return std::make_pair(rss, pss);
}

// The value after "--memory" in a kvrun-vmm command line, in bytes (0 if absent).
uint64_t vmm_guest_bytes(pid_t pid) {
  auto cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!cmdline) return 0;
  std::vector<std::string> args;
  std::istringstream parts(*cmdline);
  for (std::string arg; std::getline(parts, arg, '\0');) args.push_back(arg);
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--memory") return std::strtoull(args[i + 1].c_str(), nullptr, 10) << 20;
  }
  return 0;
}

struct Totals {
  int processes = 0;
  int vmms = 0;
  uint64_t rss = 0, pss = 0;
  uint64_t vmm_rss = 0, vmm_pss = 0, guest_touched = 0;
  bool guest_by_size = false;
};

void add_vmm(pid_t pid, Totals& totals) {
  auto smaps = read_file("/proc/" + std::to_string(pid) + "/smaps");
  if (!smaps) return;
  auto memory = kvrun::bench::summarize_smaps(*smaps, vmm_guest_bytes(pid));
  totals.guest_touched += memory.guest_rss_kib;
  if (!memory.guest_found_by_name) totals.guest_by_size = true;
}

unsigned long long minus(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: process-memory PID [PID...]\n");
    return 2;
  }
  auto children = children_by_parent();
  Totals totals;
  try {
    for (int i = 1; i < argc; ++i) {
      char* end = nullptr;
      long root = std::strtol(argv[i], &end, 10);
      if (*end != '\0' || root <= 0) {
        std::fprintf(stderr, "process-memory: '%s' is not a PID\n", argv[i]);
        return 2;
      }
      if (!rss_pss(static_cast<pid_t>(root))) {
        std::fprintf(stderr, "process-memory: no process %ld\n", root);
        return 1;
      }
      std::vector<pid_t> pending{static_cast<pid_t>(root)};
      while (!pending.empty()) {
        pid_t pid = pending.back();
        pending.pop_back();
        auto [first, last] = children.equal_range(pid);
        for (auto it = first; it != last; ++it) pending.push_back(it->second);
        auto memory = rss_pss(pid);
        if (!memory) continue;
        ++totals.processes;
        totals.rss += memory->first;
        totals.pss += memory->second;
        auto comm = read_file("/proc/" + std::to_string(pid) + "/comm").value_or("");
        if (comm == "kvrun-vmm\n") {
          ++totals.vmms;
          totals.vmm_rss += memory->first;
          totals.vmm_pss += memory->second;
          add_vmm(pid, totals);
        }
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "process-memory: %s\n", e.what());
    return 1;
  }
  // Guest RAM is private anonymous memory: its PSS equals its RSS, so PSS minus guest RAM is
  // the VMM's own share of what it maps (its binary and libraries count once across VMMs).
  std::printf(
      "processes=%d vmms=%d rss_kib=%llu pss_kib=%llu vmm_rss_kib=%llu vmm_pss_kib=%llu "
      "guest_touched_kib=%llu vmm_overhead_rss_kib=%llu vmm_overhead_pss_kib=%llu "
      "other_pss_kib=%llu guest_found_by=%s\n",
      totals.processes, totals.vmms, static_cast<unsigned long long>(totals.rss),
      static_cast<unsigned long long>(totals.pss), static_cast<unsigned long long>(totals.vmm_rss),
      static_cast<unsigned long long>(totals.vmm_pss),
      static_cast<unsigned long long>(totals.guest_touched),
      minus(totals.vmm_rss, totals.guest_touched), minus(totals.vmm_pss, totals.guest_touched),
      minus(totals.pss, totals.vmm_pss), totals.guest_by_size ? "size" : "name");
  return 0;
}
