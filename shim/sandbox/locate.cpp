#include "shim/sandbox/locate.h"

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "common/error.h"
#include "shim/common/command.h"

namespace kvrun::sandbox {
namespace {

std::filesystem::path self_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

bool usable(const std::filesystem::path& path) {
  return !path.empty() && ::access(path.c_str(), R_OK) == 0 &&
         std::filesystem::is_regular_file(path);
}

std::optional<std::filesystem::path> in_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t colon = dirs.find(':', start);
    std::filesystem::path candidate =
        std::filesystem::path(dirs.substr(start, colon - start)) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return std::nullopt;
}

std::filesystem::path first_of(const std::string& what,
                               const std::vector<std::filesystem::path>& candidates) {
  std::string tried;
  for (const auto& candidate : candidates) {
    if (candidate.empty()) continue;
    if (usable(candidate)) return candidate;
    tried += (tried.empty() ? "" : ", ") + candidate.string();
  }
  throw Error(what + " not found (tried " + tried + ")");
}

std::filesystem::path env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::filesystem::path(value) : std::filesystem::path();
}

std::filesystem::path program(const std::string& name, const char* env_name,
                              const std::string& build_subdir) {
  if (auto from_env = env(env_name); !from_env.empty()) return first_of(name, {from_env});
  auto here = self_dir();
  std::vector<std::filesystem::path> candidates = {here / name};
  // kvrun in a build tree lives in <build>/shim/cli/.
  if (!here.empty()) candidates.push_back(here.parent_path().parent_path() / build_subdir / name);
  if (auto found = in_path(name)) candidates.push_back(*found);
  return first_of(name, candidates);
}

}  // namespace

std::filesystem::path find_vmm() { return program("kvrun-vmm", "KVRUN_VMM", "vmm"); }
std::filesystem::path find_agent() { return program("kvrun-agent", "KVRUN_AGENT", "agent"); }

std::filesystem::path find_kernel(const std::string& flag) {
  if (!flag.empty()) return first_of("guest kernel", {flag});
  if (auto from_env = env("KVRUN_KERNEL"); !from_env.empty())
    return first_of("guest kernel (KVRUN_KERNEL)", {from_env});
  std::vector<std::filesystem::path> candidates = {std::filesystem::path(kShareDir) / "vmlinux"};
#ifdef KVRUN_SOURCE_DIR
  std::filesystem::path script =
      std::filesystem::path(KVRUN_SOURCE_DIR) / "kernel-config/build-kernel.sh";
  if (usable(script) && !usable(candidates[0])) {
    auto result = shim::run_command({script.string(), "--print-path"});
    if (result.status == 0) candidates.emplace_back(shim::last_line(result.output));
  }
#endif
  return first_of("guest kernel", candidates);
}

std::filesystem::path find_initrd(const std::string& flag) {
  if (!flag.empty()) return first_of("guest initramfs", {flag});
  if (auto from_env = env("KVRUN_INITRD"); !from_env.empty())
    return first_of("guest initramfs (KVRUN_INITRD)", {from_env});
  auto here = self_dir();
  return first_of("guest initramfs", {std::filesystem::path(kShareDir) / "initramfs.cpio.gz",
                                      here.empty() ? std::filesystem::path()
                                                   : here.parent_path().parent_path() /
                                                         "guest-rootfs/initramfs.cpio.gz"});
}

}  // namespace kvrun::sandbox
