#include "agent/container/cgroups.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent {
namespace {

// Controllers every container gets, so a missing one on the host is noticed at once.
const std::vector<std::string> kBaseControllers = {"cpu", "memory", "pids"};

void write_file(const std::filesystem::path& path, const std::string& value) {
  // O_CREAT only matters for the unit tests' fake hierarchy; cgroupfs files always exist.
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) throw_errno("open " + path.string());
  if (::write(fd.get(), value.data(), value.size()) < 0) {
    throw_errno("write \"" + value + "\" to " + path.string());
  }
}

// Files that exist only with some kernel options. A missing one is a clear error naming the
// OCI field, except where its absence already means what was asked: no swap at all.
void write_setting(const std::filesystem::path& cgroup, const std::string& file,
                   const std::string& value) {
  std::error_code ec;
  bool exists = std::filesystem::exists(cgroup / file, ec);
  if (file == "memory.swap.max" && !exists) {
    if (value == "0" || value == "max") return;
    throw Error("linux.resources.memory.swap: this kernel has no swap (no memory.swap.max)");
  }
  if (file == "io.weight" && !exists) {
    throw Error(
        "linux.resources.blockIO.weight: this kernel has no io.weight (it needs "
        "CONFIG_BLK_CGROUP_IOCOST)");
  }
  if (file == "cpu.max.burst" && !exists) {
    throw Error("linux.resources.cpu.burst: this kernel has no cpu.max.burst (5.14+)");
  }
  if (file.rfind("hugetlb.", 0) == 0 && !exists) {
    // Reservation limits came with 5.7; runc writes them where they exist.
    if (file.ends_with(".rsvd.max")) return;
    throw Error("linux.resources.hugepageLimits: this kernel has no " + file +
                " (page size not supported)");
  }
  write_file(cgroup / file, value);
}

// linux.resources.unified, last so that it overrides the other fields as in runc. Each file
// must exist: cgroupfs makes no files on write, and a name the kernel does not know is a
// mistake the user must hear about.
void check_unified(const std::filesystem::path& cgroup,
                   const std::map<std::string, std::string>& unified) {
  for (const auto& [file, value] : unified) {
    struct stat st {};
    if (::lstat((cgroup / file).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      throw Error("linux.resources.unified." + file + ": no such file in the container's cgroup " +
                  cgroup.string());
    }
  }
}

void write_unified(const std::filesystem::path& cgroup,
                   const std::map<std::string, std::string>& unified) {
  check_unified(cgroup, unified);
  for (const auto& [file, value] : unified) {
    std::string field = "linux.resources.unified." + file;
    UniqueFd fd(::open((cgroup / file).c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) throw_errno(field + ": open " + (cgroup / file).string());
    if (::write(fd.get(), value.data(), value.size()) < 0) {
      throw_errno(field + ": write \"" + value + "\" to " + (cgroup / file).string());
    }
  }
}

// runc's checkBeforeUpdate: a new memory limit below what the cgroup uses now is refused
// rather than left to the OOM killer. Best effort, as there: no usage to read, no check.
void check_memory_usage(const std::filesystem::path& cgroup, const spec::ResourcesSpec& r) {
  if (!r.memory_check_before_update || !r.memory_limit || *r.memory_limit <= 0) return;
  std::ifstream in(cgroup / "memory.current");
  std::uint64_t usage = 0;
  if (!(in >> usage)) return;
  if (usage >= static_cast<std::uint64_t>(*r.memory_limit)) {
    throw Error("linux.resources.memory.limit: " + std::to_string(*r.memory_limit) +
                " is below the current usage " + std::to_string(usage) +
                " (memory.checkBeforeUpdate)");
  }
}

std::vector<std::string> available_controllers(const std::filesystem::path& root) {
  std::ifstream in(root / "cgroup.controllers");
  if (!in) throw Error("read " + (root / "cgroup.controllers").string() + ": not a cgroup2 root");
  std::vector<std::string> out;
  std::string name;
  while (in >> name) out.push_back(name);
  return out;
}

void make_dir(const std::filesystem::path& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) throw_errno("mkdir " + path.string());
}

std::vector<std::string> missing_from(const std::vector<std::string>& available,
                                      const std::vector<std::string>& wanted) {
  std::vector<std::string> missing;
  for (const auto& c : wanted) {
    if (std::find(available.begin(), available.end(), c) == available.end()) missing.push_back(c);
  }
  return missing;
}

std::string join(const std::vector<std::string>& names, const std::string& prefix) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + prefix + n;
  return out;
}

}  // namespace

std::vector<std::string> required_controllers(const spec::ResourcesSpec& r) {
  std::vector<std::string> out;
  auto add = [&out](const std::string& c) {
    if (std::find(out.begin(), out.end(), c) == out.end()) out.push_back(c);
  };
  if (r.cpu_shares || r.cpu_quota || r.cpu_period || r.cpu_burst || r.cpu_idle) add("cpu");
  if (r.cpuset_cpus || r.cpuset_mems) add("cpuset");
  if (r.memory_limit || r.memory_swap || r.memory_reservation) add("memory");
  if (r.pids_limit) add("pids");
  if (r.blkio_weight) add("io");
  if (!r.hugepage_limits.empty()) add("hugetlb");
  if (!r.rdma.empty()) add("rdma");
  // A unified file's controller must be enabled for the file to exist; cgroup.* are core files.
  for (const auto& [file, value] : r.unified) {
    std::string controller = file.substr(0, file.find('.'));
    if (controller != "cgroup") add(controller);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> cgroup_settings(const spec::ResourcesSpec& r) {
  std::vector<std::pair<std::string, std::string>> out;
  // An idle cgroup has no weight (the kernel refuses one), so idle goes first and a weight
  // only where the cgroup is not idle.
  if (r.cpu_idle) out.emplace_back("cpu.idle", std::to_string(*r.cpu_idle));
  if (r.cpu_shares && *r.cpu_shares != 0 && r.cpu_idle.value_or(0) == 0) {
    // OCI shares [2, 262144] map linearly onto cgroup v2 weight [1, 10000].
    std::uint64_t shares = std::clamp<std::uint64_t>(*r.cpu_shares, 2, 262144);
    out.emplace_back("cpu.weight", std::to_string(1 + ((shares - 2) * 9999) / 262142));
  }
  if (r.cpu_quota || r.cpu_period) {
    std::string quota = (!r.cpu_quota || *r.cpu_quota < 0) ? "max" : std::to_string(*r.cpu_quota);
    out.emplace_back("cpu.max", quota + " " + std::to_string(r.cpu_period.value_or(100000)));
  }
  // After cpu.max: the kernel refuses a burst larger than the quota.
  if (r.cpu_burst) out.emplace_back("cpu.max.burst", std::to_string(*r.cpu_burst));
  if (r.cpuset_cpus) out.emplace_back("cpuset.cpus", *r.cpuset_cpus);
  if (r.cpuset_mems) out.emplace_back("cpuset.mems", *r.cpuset_mems);
  if (r.memory_limit) {
    out.emplace_back("memory.max", *r.memory_limit < 0 ? "max" : std::to_string(*r.memory_limit));
  }
  if (r.memory_swap) {
    // OCI's swap is memory+swap; v2's swap.max is swap alone.
    if (*r.memory_swap < 0) {
      out.emplace_back("memory.swap.max", "max");
    } else if (!r.memory_limit || *r.memory_limit < 0) {
      throw Error("linux.resources.memory.swap: needs a memory limit");
    } else if (*r.memory_swap < *r.memory_limit) {
      throw Error("linux.resources.memory.swap: is smaller than the memory limit");
    } else {
      out.emplace_back("memory.swap.max", std::to_string(*r.memory_swap - *r.memory_limit));
    }
  }
  // memory.reservation is v2's memory.low; 0 leaves it alone, as in runc.
  if (r.memory_reservation && *r.memory_reservation != 0) {
    out.emplace_back("memory.low",
                     *r.memory_reservation < 0 ? "max" : std::to_string(*r.memory_reservation));
  }
  if (r.pids_limit) {
    out.emplace_back("pids.max", *r.pids_limit <= 0 ? "max" : std::to_string(*r.pids_limit));
  }
  for (const auto& h : r.hugepage_limits) {
    out.emplace_back("hugetlb." + h.page_size + ".max", std::to_string(h.limit));
    out.emplace_back("hugetlb." + h.page_size + ".rsvd.max", std::to_string(h.limit));
  }
  // One line per device; a limit the spec leaves out is "max".
  for (const auto& [device, limit] : r.rdma) {
    auto value = [](const std::optional<std::uint32_t>& n) {
      return n ? std::to_string(*n) : std::string("max");
    };
    out.emplace_back("rdma.max", device + " hca_handle=" + value(limit.hca_handles) +
                                     " hca_object=" + value(limit.hca_objects));
  }
  if (r.blkio_weight) {
    // OCI's (cgroup v1) weight [10, 1000] maps linearly onto v2's io.weight [1, 10000].
    std::uint64_t weight = std::clamp<std::uint64_t>(*r.blkio_weight, 10, 1000);
    out.emplace_back("io.weight", "default " + std::to_string(1 + ((weight - 10) * 9999) / 990));
  }
  return out;
}

std::optional<Cgroup> Cgroup::create(const CgroupConfig& config, std::string_view container_id,
                                     const spec::ResourcesSpec& resources) {
  auto settings = cgroup_settings(resources);  // validate before touching anything
  if (config.device_filter) (void)device_filter_program(effective_device_rules(resources));
  std::vector<std::string> wanted = kBaseControllers;
  for (const auto& c : required_controllers(resources)) {
    if (std::find(wanted.begin(), wanted.end(), c) == wanted.end()) wanted.push_back(c);
  }
  std::vector<std::string> available;
  try {
    available = available_controllers(config.root);
  } catch (const Error& e) {
    if (config.mode == CgroupMode::kRequired) throw;
    spdlog::warn("{}; container {} runs without a cgroup (host mode)", e.what(), container_id);
    return std::nullopt;
  }
  std::vector<std::string> missing = missing_from(available, wanted);
  std::filesystem::path parent = config.root / "kvrun";
  std::filesystem::path path = parent / std::string(container_id);
  if (!missing.empty()) {
    std::string message =
        "cgroup2 root " + config.root.string() + " lacks controller(s) " + join(missing, "");
    if (config.mode == CgroupMode::kRequired) throw Error(message);
    // A cgroup without controllers still freezes, counts CPU time and kills as a unit.
    spdlog::warn("{}; container {} runs without cgroup limits (host mode)", message, container_id);
    make_dir(parent);
    if (::mkdir(path.c_str(), 0755) != 0) throw_errno("mkdir " + path.string());
    Cgroup cgroup(path);
    cgroup.attach_device_filter(config, container_id, resources);
    return cgroup;
  }

  std::string enable = join(wanted, "+");
  write_file(config.root / "cgroup.subtree_control", enable);
  make_dir(parent);
  write_file(parent / "cgroup.subtree_control", enable);
  if (::mkdir(path.c_str(), 0755) != 0) throw_errno("mkdir " + path.string());
  Cgroup cgroup(path);
  for (const auto& [file, value] : settings) write_setting(path, file, value);
  write_unified(path, resources.unified);
  cgroup.attach_device_filter(config, container_id, resources);
  spdlog::debug("container {}: cgroup {}", container_id, path.string());
  return cgroup;
}

void Cgroup::attach_device_filter(const CgroupConfig& config, std::string_view container_id,
                                  const spec::ResourcesSpec& resources) {
  if (!config.device_filter) return;
  try {
    devices_.emplace(DeviceFilter::attach(path_, effective_device_rules(resources)));
  } catch (const Error& e) {
    // A host whose kernel lacks CONFIG_CGROUP_BPF, or whose cgroup root is not cgroup2.
    if (config.mode == CgroupMode::kRequired) throw;
    spdlog::warn("{}; container {} runs without device rules (host mode)", e.what(), container_id);
  }
}

void Cgroup::update(const spec::ResourcesSpec& resources) const {
  auto settings = cgroup_settings(resources);
  auto wanted = required_controllers(resources);
  std::filesystem::path parent = path_.parent_path();  // <root>/kvrun
  std::filesystem::path root = parent.parent_path();
  if (!wanted.empty()) {
    auto missing = missing_from(available_controllers(root), wanted);
    if (!missing.empty()) {
      throw Error("cgroup2 root " + root.string() + " lacks controller(s) " + join(missing, ""));
    }
  }
  check_memory_usage(path_, resources);
  // Enabling a controller sets no limit, and the unified files of one the container did not
  // use before exist only once it is enabled: so first, then the check.
  if (!wanted.empty()) {
    std::string enable = join(wanted, "+");
    write_file(root / "cgroup.subtree_control", enable);
    write_file(parent / "cgroup.subtree_control", enable);
  }
  check_unified(path_, resources.unified);
  if (resources.devices) {
    // Before any limit is written: replace() leaves the old filter attached if it fails.
    if (devices_) {
      devices_->replace(effective_device_rules(resources));
    } else {
      spdlog::warn("cgroup {}: has no device filter; new device rules not enforced (host mode)",
                   path_.string());
    }
  }
  for (const auto& [file, value] : settings) write_setting(path_, file, value);
  write_unified(path_, resources.unified);
}

Cgroup& Cgroup::operator=(Cgroup&& other) noexcept {
  if (this != &other) {
    remove();
    path_ = std::exchange(other.path_, {});
    devices_ = std::exchange(other.devices_, {});
  }
  return *this;
}

Cgroup::~Cgroup() { remove(); }

void Cgroup::remove() {
  devices_.reset();  // detach while the directory still exists
  if (path_.empty()) return;
  if (::rmdir(path_.c_str()) != 0) {
    spdlog::warn("remove cgroup {}: {}", path_.string(), std::strerror(errno));
  }
  path_.clear();
}

void Cgroup::add_process(pid_t pid) const {
  write_file(path_ / "cgroup.procs", std::to_string(pid));
}

std::vector<pid_t> Cgroup::processes() const {
  std::ifstream in(path_ / "cgroup.procs");
  if (!in) throw Error("read " + (path_ / "cgroup.procs").string() + ": cannot open");
  std::vector<pid_t> pids;
  long pid = 0;
  while (in >> pid) {
    if (pid > 0 && pid <= INT32_MAX) pids.push_back(static_cast<pid_t>(pid));
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

void Cgroup::kill() const {
  UniqueFd fd(::open((path_ / "cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC));
  if (fd && ::write(fd.get(), "1", 1) == 1) return;
  for (pid_t pid : processes()) ::kill(pid, SIGKILL);  // ESRCH: it went meanwhile
}

void Cgroup::freeze(bool frozen) const {
  write_file(path_ / "cgroup.freeze", frozen ? "1" : "0");
  // The write only starts freezing; cgroup.events says when every process has stopped.
  const std::string want = frozen ? "frozen 1" : "frozen 0";
  for (int i = 0; i < 2000; ++i) {
    std::ifstream events(path_ / "cgroup.events");
    std::string line;
    while (std::getline(events, line)) {
      if (line == want) return;
    }
    ::usleep(1000);
  }
  throw Error("cgroup " + path_.string() + ": not " + (frozen ? "frozen" : "thawed") +
              " within 2 s");
}

}  // namespace kvrun::agent
