#include "tests/e2e/conformance/rows.h"

namespace kvrun::e2e::conformance {

const char* to_string(From from) {
  switch (from) {
    case From::kMissing:
      return "missing";
    case From::kCreated:
      return "created";
    case From::kRunning:
      return "running";
    case From::kPaused:
      return "paused";
    case From::kStopped:
      return "stopped";
  }
  return "?";
}

// The mount at `target` as "<target> <mount options>" (its filesystem is the runtime's choice).
#define MOUNT_FLAGS_OF(target)                    \
  "sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* \\(" target \
  "\\) \\([^ ]*\\) .*|\\1 \\2|p' /proc/self/mountinfo"

// The mount at `target` as "<target> <mount options> <fstype> <super options>", from mountinfo
// (mount ids and peer groups differ between runs).
#define MOUNT_OF(target)                          \
  "sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* \\(" target \
  "\\) \\([^ ]*\\).* - \\([^ ]*\\) "              \
  "[^ ]* \\(.*\\)$|\\1 \\2 \\3 \\4|p' /proc/self/mountinfo"

// What a hook got on stdin (the container's state), field by field: JSON spacing is the
// runtime's own, and ociVersion says which spec version it implements.
#define HOOK_STATE(hook)                                                           \
  "f=$HOOK_DIR/" hook                                                              \
  "; for k in id status bundle; do grep -o \"\\\"$k\\\": *\\\"[^\\\"]*\\\"\" $f; " \
  "done | tr -d ' '; grep -q '\"pid\": *[1-9]' $f && echo pid"

// A hook that keeps its stdin where the container can read it (@HOOKS@: see group_bundle).
#define HOOK_PATCH(hook)                                     \
  "{\"hooks\": {\"" hook                                     \
  "\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", " \
  "\"cat > @HOOKS@/" hook "\"]}]}}"

const std::vector<Observation>& observations() {
  static const std::vector<Observation> rows = {
      {"hostname", Group::kRoot, R"({"hostname": "conformance"})", "cat /proc/sys/kernel/hostname"},
      {"pid namespace", Group::kRoot, "{}", "echo $$"},
      {"rlimit nofile", Group::kRoot,
       R"({"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1000}]}})",
       "ulimit -Sn; ulimit -Hn"},
      {"rlimit core", Group::kRoot,
       R"({"process": {"rlimits": [{"type": "RLIMIT_CORE", "soft": 0, "hard": 1048576}]}})",
       "ulimit -Sc; ulimit -Hc"},
      {"oom_score_adj", Group::kRoot, R"({"process": {"oomScoreAdj": 123}})",
       "cat /proc/self/oom_score_adj"},
      {"masked file reads empty", Group::kRoot,
       R"({"linux": {"maskedPaths": ["/proc/kcore", "/proc/timer_list"]}})",
       "head -c 16 /proc/timer_list | wc -c; head -c 16 /proc/kcore 2>/dev/null | wc -c"},
      {"masked directory is empty", Group::kRoot, R"({"linux": {"maskedPaths": ["/proc/sys/fs"]}})",
       "ls /proc/sys/fs | wc -l"},
      {"masked path that does not exist", Group::kRoot,
       R"({"linux": {"maskedPaths": ["/proc/conformance-none"]}})", "echo started"},
      {"readonly path refuses writes", Group::kRoot,
       R"({"linux": {"readonlyPaths": ["/proc/sys"]}})", "echo 0 > /proc/sys/vm/overcommit_memory"},
      {"tmpfs mount and flags", Group::kRoot,
       R"({"mounts": [{"destination": "/conf-tmp", "type": "tmpfs", "source": "tmpfs",
           "options": ["nosuid", "nodev", "noexec", "size=64k", "mode=750"]}]})",
       // inode64 is the kernel's default, which only some kernels show.
       MOUNT_OF("/conf-tmp") " | sed s/,inode64//; stat -c %a /conf-tmp"},
      {"proc mount flags", Group::kRoot, "{}", MOUNT_OF("/proc")},
      {"root.readonly", Group::kRoot, R"({"root": {"readonly": true}})",
       MOUNT_FLAGS_OF("/") "; touch /conf-file", nullptr, nullptr, true,
       "/ ro,nodev,relatime\ntouch: /conf-file: Read-only file system\n",
       "the guest's overlay root is nodev: image and container nodes never open a guest device"},
      {"process.cwd", Group::kRoot, R"({"process": {"cwd": "/tmp"}})", "pwd"},
      {"process.env", Group::kRoot, R"({"process": {"env": ["CONF_A=1", "CONF_B=two words"]}})",
       "env | grep ^CONF_ | sort"},
      {"HOME of root without a passwd entry", Group::kRoot, "{}", "echo HOME=$HOME"},
      {"capabilities of root", Group::kRoot,
       R"({"process": {"capabilities": {
           "bounding": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_SYS_CHROOT"],
           "effective": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL"],
           "permitted": ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL"],
           "inheritable": ["CAP_KILL"]}}})",
       "grep ^Cap /proc/self/status"},
      {"noNewPrivileges unset", Group::kRoot, "{}", "grep ^NoNewPrivs /proc/self/status"},
      {"sysctl (ipc namespace)", Group::kRoot,
       R"({"linux": {"sysctl": {"kernel.shmmax": "1234567"}}})", "cat /proc/sys/kernel/shmmax"},
      {"seccomp errno rule", Group::kRoot,
       R"({"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ALLOW",
           "architectures": ["SCMP_ARCH_X86_64"], "syscalls": [{"names": ["mkdir", "mkdirat"],
           "action": "SCMP_ACT_ERRNO", "errnoRet": 38}]}}})",
       "mkdir /tmp/conf-dir"},
      // Host hooks write into the rootfs after a VM's image of it was made: host variant only.
      {"hook createRuntime gets the state", Group::kRoot, HOOK_PATCH("createRuntime"),
       HOOK_STATE("createRuntime"), nullptr, nullptr, false},
      {"hook prestart gets the state", Group::kRoot, HOOK_PATCH("prestart"), HOOK_STATE("prestart"),
       nullptr, nullptr, false},
      {"user uid gid additionalGids", Group::kUser,
       R"({"process": {"user": {"uid": 1000, "gid": 1000, "additionalGids": [2000, 3000]}}})",
       "grep -E '^(Uid|Gid|Groups)' /proc/self/status"},
      {"user umask", Group::kUser, R"({"process": {"user": {"umask": 23}}})", "umask"},
      {"capabilities of a user (ambient)", Group::kUser,
       R"({"process": {"capabilities": {
           "bounding": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
           "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
           "permitted": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
           "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
           "ambient": ["CAP_KILL", "CAP_NET_BIND_SERVICE"]}}})",
       "grep ^Cap /proc/self/status"},
      {"noNewPrivileges", Group::kUser, R"({"process": {"noNewPrivileges": true}})",
       "grep ^NoNewPrivs /proc/self/status"},
      {"HOME of a user from /etc/passwd", Group::kUser, "{}", "echo HOME=$HOME"},
  };
  return rows;
}

const std::vector<LifecycleCell>& lifecycle_cells() {
  using F = From;
  static const std::vector<LifecycleCell> cells = {
      {F::kMissing, "state @"},
      {F::kMissing, "start @"},
      {F::kMissing, "kill @"},
      {F::kMissing, "kill @ 0"},
      {F::kMissing, "pause @"},
      {F::kMissing, "delete @"},
      {F::kMissing, "delete --force @"},
      {F::kMissing, "ps @"},
      {F::kMissing, "exec @ true"},

      {F::kCreated, "state @"},
      {F::kCreated, "start @"},
      {F::kCreated, "kill @ KILL"},
      {F::kCreated, "kill --all @ KILL"},
      {F::kCreated, "kill @ 0"},
      {F::kCreated,
       "kill @ TERM",
       "runc's created init is Go code that SIGTERM ends; kvrun's holds the process before exec as "
       "PID 1 of its namespace, which only SIGKILL ends",
       {0, "", "created"}},
      {F::kCreated, "delete @"},
      {F::kCreated, "delete --force @"},
      {F::kCreated,
       "pause @",
       "the agent freezes only a started container",
       {1, "container not running", "created"}},
      {F::kCreated, "resume @"},
      {F::kCreated, "ps @"},
      {F::kCreated,
       "exec @ true",
       "the agent execs only into a started container",
       {255, "cannot exec in a container that has not been started", "created"}},

      {F::kRunning, "state @"},
      {F::kRunning, "start @"},
      {F::kRunning, "kill @ TERM"},  // sh as PID 1 has no handler: ignored by both
      {F::kRunning, "kill @ 0"},
      {F::kRunning, "kill @ KILL"},
      {F::kRunning, "kill --all @ KILL"},
      {F::kRunning, "delete @"},
      {F::kRunning, "delete --force @"},
      {F::kRunning, "pause @"},
      {F::kRunning, "resume @"},
      {F::kRunning, "ps @"},
      {F::kRunning, "exec @ true"},

      {F::kPaused, "state @"},
      {F::kPaused, "start @"},
      {F::kPaused, "pause @"},
      {F::kPaused, "resume @"},
      {F::kPaused, "kill @ KILL"},
      {F::kPaused, "delete @"},
      {F::kPaused, "delete --force @"},
      {F::kPaused, "exec @ true"},

      {F::kStopped, "state @"},
      {F::kStopped, "start @"},
      {F::kStopped, "kill @"},
      {F::kStopped, "kill @ 0"},
      {F::kStopped,
       "kill --all @ KILL",
       "runc 1.1 signals an empty list and succeeds; kvrun keeps the error containerd's shim "
       "maps to NotFound, as for every other signal",
       {1, "container not running", "stopped"}},
      {F::kStopped, "pause @"},
      {F::kStopped, "resume @"},
      {F::kStopped, "delete @"},
      {F::kStopped, "delete --force @"},
      {F::kStopped, "ps @"},
      {F::kStopped, "exec @ true"},
  };
  return cells;
}

const std::vector<LifecycleWalk>& lifecycle_walks() {
  static const std::vector<LifecycleWalk> walks = {
      {{"state @"},  {"kill @ 0"}, {"start @"},         {"state @"},     {"start @"},
       {"pause @"},  {"state @"},  {"pause @"},         {"start @"},     {"exec @ true"},
       {"delete @"}, {"resume @"}, {"resume @"},        {"exec @ true"}, {"kill --all @ KILL"},
       {"state @"},  {"kill @"},   {"start @"},         {"ps @"},        {"exec @ true"},
       {"delete @"}, {"state @"},  {"delete --force @"}},
      // A created container that was never started: delete kills and removes it.
      {{"delete @"}, {"state @"}, {"delete @"}},
  };
  return walks;
}

}  // namespace kvrun::e2e::conformance
