// linux.seccomp observed from inside containers: a probe makes exact system calls and prints
// the filter's answer. runc, the reference, runs the same profile on the same rootfs where it
// is installed, and must see what kvrun sees.
#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <cstdio>
#include <fstream>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class SeccompAsRoot : public ContainerAsRoot {
 protected:
  static void SetUpTestSuite() {
    ContainerAsRoot::SetUpTestSuite();
    if (!rootfs_dir_) return;
    std::filesystem::copy_file(KVRUN_SYSCALL_PROBE, rootfs_ / "bin/probe");
  }

  // stdout of the container run by runc, or nullopt where runc is not installed.
  std::optional<std::string> run_runc(const std::string& id, nlohmann::json config) {
    const char* runc = "/usr/sbin/runc";
    if (::access(runc, X_OK) != 0) return std::nullopt;
    auto bundle = dir_.path() / ("bundle-" + id);
    std::filesystem::create_directories(bundle);
    config["root"]["path"] = rootfs_.string();
    std::ofstream(bundle / "config.json") << config.dump();
    std::string command = std::string(runc) + " --root " + (dir_.path() / "runc").string() +
                          " run --bundle " + bundle.string() + " " + id + " 2>" +
                          (bundle / "stderr").string() + " </dev/null";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) return std::nullopt;
    std::string out;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;)
      out.append(buffer, n);
    int status = ::pclose(pipe);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "runc: status " << status << "\n"
        << std::ifstream(bundle / "stderr").rdbuf();
    return out;
  }

  // Runs `script` under `seccomp` in kvrun and in runc; returns kvrun's stdout.
  std::string run_both(const std::string& id, const nlohmann::json& seccomp,
                       const std::string& script) {
    auto config = base_config({"/bin/sh", "-c", script});
    config["linux"]["seccomp"] = seccomp;
    auto result = run(id, config);
    EXPECT_EQ(result.exit_status, 0) << result.err;
    if (auto reference = run_runc(id, config)) {
      EXPECT_EQ(result.out, *reference) << "kvrun and runc disagree";
    } else {
      std::cerr << "runc is not installed: no reference run\n";
    }
    return result.out;
  }
};

// "probe personality <v>; echo rc=$?" for each value.
std::string personality_calls(const std::vector<std::string>& values) {
  std::string script;
  for (const auto& v : values) {
    script += "/bin/probe " + std::to_string(SYS_personality) + " " + v + "; echo rc=$?; ";
  }
  return script;
}

// Docker's default profile's shape: everything this libseccomp knows is allowed but
// personality, which is allowed for four values of arg0 only, listed in one rule.
TEST_F(SeccompAsRoot, DockersPersonalityRuleAllowsItsValuesOnly) {
  nlohmann::json names = nlohmann::json::array();
  for (int nr = 0; nr < 1024; ++nr) {
    if (nr == SYS_personality) continue;
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name == nullptr) continue;
    names.push_back(name);
    std::free(name);
  }
  nlohmann::json args = nlohmann::json::array();
  for (std::uint64_t value : {0x0ull, 0x8ull, 0x20008ull, 0xffffffffull}) {
    args.push_back({{"index", 0}, {"value", value}, {"op", "SCMP_CMP_EQ"}});
  }
  nlohmann::json seccomp = {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"defaultErrnoRet", 13},
      {"syscalls",
       {{{"names", names}, {"action", "SCMP_ACT_ALLOW"}},
        {{"names", {"personality"}}, {"action", "SCMP_ACT_ALLOW"}, {"args", args}}}}};
  auto out =
      run_both("personality", seccomp, personality_calls({"0", "0xffffffff", "8", "0x20000"}));
  // Each probe starts with the shell's persona, PER_LINUX (0).
  EXPECT_EQ(out, "ret=0\nrc=0\nret=0\nrc=0\nret=0\nrc=0\nerrno=13\nrc=0\n");
}

// runc's -ENOSYS stub: under a deny-by-default profile, calls newer than every call it names
// fail with ENOSYS (so libc falls back), older ones it does not name with the default errno,
// and only for the architectures the profile lists.
TEST_F(SeccompAsRoot, CallsNewerThanTheProfileGetEnosys) {
  nlohmann::json names = nlohmann::json::array();
  for (int nr = 0; nr <= 440; ++nr) {
    if (nr == SYS_personality) continue;
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
    if (name == nullptr) continue;
    names.push_back(name);
    std::free(name);
  }
  nlohmann::json seccomp = {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"syscalls", {{{"names", names}, {"action", "SCMP_ACT_ALLOW"}}}}};
  std::string script = "/bin/probe 450 0 0 0 0; /bin/probe 1000; " + personality_calls({"4"});
  EXPECT_EQ(run_both("enosys", seccomp, script), "errno=38\nerrno=38\nerrno=1\nrc=0\n");
  // No architectures listed: no stub, in runc as here.
  seccomp.erase("architectures");
  EXPECT_EQ(run_both("no-stub", seccomp, script), "errno=1\nerrno=1\nerrno=1\nrc=0\n");
  // A default that lets calls through needs none either.
  seccomp["defaultAction"] = "SCMP_ACT_LOG";
  seccomp["architectures"] = {"SCMP_ARCH_X86_64"};
  EXPECT_EQ(run_both("log", seccomp, "/bin/probe 1000"), "errno=38\n");  // the kernel's own
}

// Every action, errnoRet and MASKED_EQ (value is the mask, valueTwo what the masked argument
// must equal), each on its own value of personality's arg0.
TEST_F(SeccompAsRoot, EveryActionHasItsEffect) {
  auto rule = [](const char* action, std::uint64_t value, std::optional<int> errno_ret = {}) {
    nlohmann::json r = {{"names", {"personality"}},
                        {"action", action},
                        {"args", {{{"index", 0}, {"value", value}, {"op", "SCMP_CMP_EQ"}}}}};
    if (errno_ret) r["errnoRet"] = *errno_ret;
    return r;
  };
  nlohmann::json masked = {{"names", {"personality"}},
                           {"action", "SCMP_ACT_ERRNO"},
                           {"errnoRet", 34},
                           {"args",
                            {{{"index", 0},
                              {"value", 0xff0000},
                              {"valueTwo", 0x110000},
                              {"op", "SCMP_CMP_MASKED_EQ"}}}}};
  nlohmann::json seccomp = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls",
       {rule("SCMP_ACT_ERRNO", 0x1001, 33), rule("SCMP_ACT_TRACE", 0x1002),
        rule("SCMP_ACT_LOG", 0x1003), rule("SCMP_ACT_KILL_PROCESS", 0x1004),
        rule("SCMP_ACT_TRAP", 0x1005), rule("SCMP_ACT_KILL", 0x1006),
        rule("SCMP_ACT_ERRNO", 0x1007), rule("SCMP_ACT_TRACE", 0x1008, 20), masked}}};
  auto out = run_both("actions", seccomp,
                      personality_calls({"0x1001", "0x1002", "0x1003", "0x1004", "0x1005", "0x1006",
                                         "0x1007", "0x1008", "0x110005", "0x120005"}) +
                          "true");
  EXPECT_EQ(out,
            "errno=33\nrc=0\n"  // ERRNO with errnoRet
            "errno=38\nrc=0\n"  // TRACE without a tracer: the kernel's ENOSYS
            "ret=0\nrc=0\n"     // LOG: allowed
            "rc=159\n"          // KILL_PROCESS: death by SIGSYS
            "rc=159\n"          // TRAP: SIGSYS, not handled
            "rc=159\n"          // KILL (KILL_THREAD) of the only thread
            "errno=1\nrc=0\n"   // ERRNO without errnoRet: EPERM
            "errno=38\nrc=0\n"  // TRACE's errnoRet is for a tracer; none: ENOSYS
            "errno=34\nrc=0\n"  // (0x110005 & 0xff0000) == 0x110000
            "ret=0\nrc=0\n");   // (0x120005 & 0xff0000) != 0x110000
}

// podman's default profile (containers-common), resolved as podman resolves it for this
// config: an entry's includes/excludes name capabilities and architectures, and the rest is
// plain OCI. Both runtimes then get the same linux.seccomp.
TEST_F(SeccompAsRoot, PodmansDefaultProfileBehavesAsUnderRunc) {
  const char* file = "/usr/share/containers/seccomp.json";
  if (!std::filesystem::exists(file))
    GTEST_SKIP() << file << " is not installed (containers-common)";
  auto profile = nlohmann::json::parse(std::ifstream(file));
  const std::vector<std::string> caps = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SETUID",
                                         "CAP_SETGID"};
  auto any_of = [&](const nlohmann::json& condition) {
    for (const auto& arch : condition.value("arches", nlohmann::json::array())) {
      if (arch == "amd64") return true;
    }
    for (const auto& cap : condition.value("caps", nlohmann::json::array())) {
      if (std::find(caps.begin(), caps.end(), cap.get<std::string>()) != caps.end()) return true;
    }
    return false;
  };
  nlohmann::json syscalls = nlohmann::json::array();
  for (const auto& entry : profile["syscalls"]) {
    auto includes = entry.value("includes", nlohmann::json::object());
    auto excludes = entry.value("excludes", nlohmann::json::object());
    if (!includes.empty() && !any_of(includes)) continue;
    if (!excludes.empty() && any_of(excludes)) continue;
    syscalls.push_back(entry);
  }
  profile["syscalls"] = syscalls;
  std::string script = personality_calls({"0", "0x20000", "4"});
  for (const char* call : {"246 0 0 0 0", "161 0", "163 0", "41 16 3 9", "41 1 1 0"}) {
    script += std::string("/bin/probe ") + call + "; ";
  }
  auto out = run_both("podman", profile, script);
  EXPECT_EQ(out,
            "ret=0\nrc=0\nret=0\nrc=0\n"  // personality values the profile lists
            "errno=38\nrc=0\n"            // any other: defaultErrnoRet ENOSYS
            "errno=1\n"                   // kexec_load: errnoRet 1
            "errno=1\n"                   // chroot without CAP_SYS_CHROOT
            "errno=1\n"                   // acct without CAP_SYS_PACCT
            "errno=22\n"                  // socket(AF_NETLINK, NETLINK_AUDIT): both args
            "ret=3\n");                   // socket(AF_UNIX, SOCK_STREAM)
}

}  // namespace
}  // namespace kvrun::agent::test
