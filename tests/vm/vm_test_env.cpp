#include "tests/vm/vm_test_env.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/unique_fd.h"

namespace kvrun::test {

std::string vmm_path() { return KVRUN_VMM_PATH; }

std::string test_guest_path(const std::string& name) {
  return std::string(KVRUN_TEST_GUEST_DIR) + "/" + name + ".elf";
}

std::string initramfs_path() { return KVRUN_INITRAMFS_PATH; }

std::string kvm_unavailable_reason() {
  UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm) return std::strerror(errno);
  return "";
}

std::string guest_kernel_path(std::string& error) {
  if (const char* env = std::getenv("KVRUN_KERNEL"); env != nullptr && *env != '\0') {
    if (::access(env, R_OK) != 0) {
      error = std::string("KVRUN_KERNEL=") + env + ": " + std::strerror(errno);
      return "";
    }
    return env;
  }
  const std::string script = std::string(KVRUN_SOURCE_DIR) + "/kernel-config/build-kernel.sh";
  ChildProcess probe = run_to_completion({script, "--print-path"}, std::chrono::seconds(60));
  std::string out = probe.stdout_text();
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::string path = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  if (path.empty() || ::access(path.c_str(), R_OK) != 0) {
    error = "the guest kernel is not built (" + script + " --print-path: '" + path + "', " +
            probe.stderr_text() + "); build it with `" + script +
            "` (10+ minutes, cached) or point KVRUN_KERNEL at a vmlinux";
    return "";
  }
  return path;
}

std::string unique_token() {
  return "kvrun-vm-test-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

ChildProcess run_vmm(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{vmm_path()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_to_completion(argv, timeout);
}

std::vector<int> processes_with_argument(const std::string& needle) {
  std::vector<int> pids;
  const int self = ::getpid();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const int pid = std::stoi(name);
    if (pid == self) continue;
    std::ifstream cmdline(entry.path() / "cmdline");  // vanishes if the process just exited
    std::stringstream content;
    content << cmdline.rdbuf();
    if (content.str().find(needle) != std::string::npos) pids.push_back(pid);
  }
  return pids;
}

int count_lines(const std::string& text) {
  int lines = 0;
  for (char c : text)
    if (c == '\n') ++lines;
  if (!text.empty() && text.back() != '\n') ++lines;
  return lines;
}

}  // namespace kvrun::test
