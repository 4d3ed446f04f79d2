// Device rules in a real kernel: the filter loaded, attached to a cgroup2 directory of this host,
// replaced and detached (DeviceFilterAsRoot), and containers of the real agent that hold
// CAP_MKNOD trying to open device nodes they made (HostileDevicesAsRoot). The same scene in
// the guest, against its own disks and console, is tests/vm/agent/devices.sh.
#include "agent/container/device_filter.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <future>
#include <string>
#include <vector>

#include "common/error.h"
#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

bool is_cgroup2(const std::filesystem::path& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == CGROUP2_SUPER_MAGIC;
}

// A cgroup2 mount of this host: /sys/fs/cgroup (v2 only) or its unified part (hybrid).
std::filesystem::path cgroup2_root() {
  for (const char* path : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    if (is_cgroup2(path)) return path;
  }
  return {};
}

std::uint32_t attached_programs(const std::filesystem::path& cgroup) {
  UniqueFd dir(::open(cgroup.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  bpf_attr attr{};
  attr.query.target_fd = static_cast<std::uint32_t>(dir.get());
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  if (::syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof attr) != 0) throw_errno("BPF_PROG_QUERY");
  return attr.query.prog_cnt;
}

// Opens path with flags from a child that first joins cgroup: 0 or the open's errno.
int open_in_cgroup(const std::filesystem::path& cgroup, const char* path, int flags) {
  std::string procs = (cgroup / "cgroup.procs").string();
  pid_t pid = ::fork();
  if (pid == 0) {
    int fd = ::open(procs.c_str(), O_WRONLY);
    if (fd < 0 || ::write(fd, "0", 1) != 1) ::_exit(200);
    ::close(fd);
    fd = ::open(path, flags | O_NONBLOCK);
    ::_exit(fd >= 0 ? 0 : errno);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 255;
}

class DeviceFilterAsRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "loading BPF programs needs root";
    std::filesystem::path root = cgroup2_root();
    if (root.empty()) GTEST_SKIP() << "no cgroup2 mount on this host";
    cgroup_ = root / ("kvrun-device-filter-test-" + std::to_string(::getpid()));
    ASSERT_EQ(::mkdir(cgroup_.c_str(), 0755), 0) << std::strerror(errno);
  }
  void TearDown() override {
    if (!cgroup_.empty()) ::rmdir(cgroup_.c_str());
  }
  std::filesystem::path cgroup_;
};

std::vector<spec::DeviceRuleSpec> container_rules(std::vector<spec::DeviceRuleSpec> spec_rules) {
  spec::ResourcesSpec resources;
  resources.devices = std::move(spec_rules);
  return effective_device_rules(resources);
}

const spec::DeviceRuleSpec kDenyAll{false, spec::DeviceType::kAll, {}, {}, spec::kDeviceAllAccess};
const spec::DeviceRuleSpec kKmsgRead{true, spec::DeviceType::kChar, 1, 11, spec::kDeviceRead};

TEST_F(DeviceFilterAsRoot, AttachReplaceAndDetachOnACgroup) {
  {
    DeviceFilter filter = DeviceFilter::attach(cgroup_, container_rules({kDenyAll}));
    EXPECT_EQ(attached_programs(cgroup_), 1u);
    EXPECT_EQ(open_in_cgroup(cgroup_, "/dev/kmsg", O_RDONLY), EPERM);
    EXPECT_EQ(open_in_cgroup(cgroup_, "/dev/null", O_RDWR), 0);
    EXPECT_EQ(open_in_cgroup(cgroup_, "/dev/zero", O_RDONLY), 0);

    filter.replace(container_rules({kDenyAll, kKmsgRead}));
    EXPECT_EQ(attached_programs(cgroup_), 1u);
    EXPECT_EQ(open_in_cgroup(cgroup_, "/dev/kmsg", O_RDONLY), 0);
    EXPECT_EQ(open_in_cgroup(cgroup_, "/dev/kmsg", O_WRONLY), EPERM);

    DeviceFilter moved = std::move(filter);  // the attachment goes with it, once
    EXPECT_EQ(attached_programs(cgroup_), 1u);
  }
  EXPECT_EQ(attached_programs(cgroup_), 0u);
  EXPECT_EQ(open_in_cgroup(cgroup_, "/dev/kmsg", O_RDONLY), 0);
}

TEST_F(DeviceFilterAsRoot, TheLargestRuleListTheSpecMayHaveLoads) {
  std::vector<spec::DeviceRuleSpec> rules;
  for (std::uint32_t i = 0; i < 256; ++i) {
    rules.push_back({i % 2 == 0, i % 3 == 0 ? spec::DeviceType::kBlock : spec::DeviceType::kChar,
                     100 + i, i, static_cast<std::uint8_t>(1 + i % 6)});
  }
  DeviceFilter filter = DeviceFilter::attach(cgroup_, container_rules(rules));
  EXPECT_EQ(open_in_cgroup(cgroup_, "/dev/null", O_RDWR), 0);
  EXPECT_EQ(open_in_cgroup(cgroup_, "/dev/kmsg", O_RDONLY), EPERM);
}

// ---- containers of the real agent --------------------------------------------------------

// containerd's default capabilities (its oci package's defaults), CAP_MKNOD among them.
const std::vector<std::string> kContainerdCaps = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE"};

// Shell helpers: "NAME read|write open|EPERM|EACCES" per probe, "NAME mknod ok" per node made.
const char* kProbes =
    "verdict() { case \"$1\" in '') echo open;; *'not permitted'*) echo EPERM;;"
    " *denied*) echo EACCES;; *) echo \"other: $1\";; esac; };"
    " r() { echo \"$1 read $(verdict \"$( (: <\"$2\") 2>&1)\")\"; };"
    " w() { echo \"$1 write $(verdict \"$( (: >\"$2\") 2>&1)\")\"; };"
    " mk() { mknod \"$2\" \"$3\" \"$4\" \"$5\" && echo \"$1 mknod ok\"; }; ";

// A block device this host has (e.g. "7 0"), as "major minor".
std::string some_block_device() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/dev/block")) {
    names.push_back(entry.path().filename().string());
  }
  if (names.empty()) return "";
  std::sort(names.begin(), names.end());
  std::string name = names.front();
  std::replace(name.begin(), name.end(), ':', ' ');
  return name;
}

class HostileDevicesAsRoot : public ContainerAsRoot {
 protected:
  // A container as containerd makes it (its capabilities and its one device rule, deny all,
  // unless rules are given), with a /tmp that is not nodev so only the device rules decide.
  nlohmann::json config(const std::string& script, nlohmann::json devices = nullptr) {
    auto c = base_config({"/bin/sh", "-c", std::string(kProbes) + script});
    for (const char* set : {"bounding", "effective", "permitted"}) {
      c["process"]["capabilities"][set] = kContainerdCaps;
    }
    for (auto& m : c["mounts"]) {
      if (m["destination"] == "/tmp") m["options"] = {"nosuid"};
    }
    if (devices.is_null()) devices = {{{"allow", false}, {"access", "rwm"}}};
    c["linux"]["resources"] = {{"devices", devices}};
    return c;
  }

  // Runs config on an overlay over the suite's rootfs; stdout and stderr together.
  std::string run_on_overlay(const std::string& id, const nlohmann::json& config) {
    AgentClient client(agent_->socket_path());
    auto created = client.call("CreateContainer", {{"container_id", id},
                                                   {"config", config},
                                                   {"rootfs", rootfs_.string()},
                                                   {"overlay", true}});
    if (!created.ok) return "CreateContainer: " + created.error;
    UniqueFd out = attach(agent_->socket_path(), id, "", "stdout");
    UniqueFd err = attach(agent_->socket_path(), id, "", "stderr");
    auto err_text = std::async(std::launch::async, [&] { return read_all(err.get()); });
    client.call("StartContainer", {{"container_id", id}});
    std::string text = read_all(out.get());
    text += err_text.get();
    client.call("WaitProcess", {{"container_id", id}});
    client.call("RemoveContainer", {{"container_id", id}});
    return text;
  }
};

TEST_F(HostileDevicesAsRoot, NodesMadeWithMknodDoNotOpenUnderContainerdsRules) {
  std::string block = some_block_device();
  ASSERT_FALSE(block.empty());
  auto result = run("mknod", config("mk kmsg /tmp/kmsg c 1 11; r kmsg /tmp/kmsg; w kmsg /tmp/kmsg;"
                                    " mk disk /tmp/disk b " +
                                    block +
                                    "; r disk /tmp/disk;"
                                    " r null /dev/null; w null /dev/null; r zero /dev/zero;"
                                    " r urandom /dev/urandom; w full /dev/full"));
  EXPECT_EQ(result.out,
            "kmsg mknod ok\nkmsg read EPERM\nkmsg write EPERM\n"
            "disk mknod ok\ndisk read EPERM\n"
            "null read open\nnull write open\nzero read open\nurandom read open\nfull write open\n")
      << result.err;
}

// Reading /dev/kmsg also needs CAP_SYSLOG where dmesg_restrict is set, so kmsg is probed for
// writing (which only the rules decide; and a container writing there writes the console).
TEST_F(HostileDevicesAsRoot, ASpecRuleOpensExactlyWhatItAllows) {
  std::string block = some_block_device();
  ASSERT_FALSE(block.empty());
  std::string major = block.substr(0, block.find(' ')), minor = block.substr(block.find(' ') + 1);
  nlohmann::json rules = {
      {{"allow", false}, {"access", "rwm"}},
      {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "w"}},
      {{"allow", true},
       {"type", "b"},
       {"major", std::stoi(major)},
       {"minor", std::stoi(minor)},
       {"access", "r"}}};
  auto result = run("allowed", config("mk kmsg /tmp/kmsg c 1 11; w kmsg /tmp/kmsg;"
                                      " mk disk /tmp/disk b " +
                                          block + "; r disk /tmp/disk; w disk /tmp/disk",
                                      rules));
  EXPECT_EQ(result.out,
            "kmsg mknod ok\nkmsg write open\ndisk mknod ok\ndisk read open\ndisk write EPERM\n")
      << result.err;
}

// Even where the rules allow a device, a node made in /dev or in the overlay root is on a
// nodev mount: only the spec's own mounts (here /tmp) could hold a usable one.
TEST_F(HostileDevicesAsRoot, DevAndTheOverlayRootAreNodev) {
  nlohmann::json allow_all = {{{"allow", true}, {"access", "rwm"}}};
  auto text = run_on_overlay(
      "nodev", config("mk dev /dev/kmsg2 c 1 11; w dev /dev/kmsg2; mk root /kmsg3 c 1 11;"
                      " w root /kmsg3; mk tmp /tmp/kmsg c 1 11; w tmp /tmp/kmsg; r null /dev/null",
                      allow_all));
  EXPECT_EQ(text,
            "dev mknod ok\ndev write EACCES\nroot mknod ok\nroot write EACCES\n"
            "tmp mknod ok\ntmp write open\nnull read open\n");
}

// UpdateContainer with device rules swaps the running container's filter: a node its init
// made opens after a rule allows it and stops opening when the rules take it back.
TEST_F(HostileDevicesAsRoot, UpdateContainerSwapsTheRulesOfARunningContainer) {
  AgentClient client(agent_->socket_path());
  auto created = create(client, "upd", config("mk kmsg /tmp/kmsg c 1 11; exec sleep 1000"));
  ASSERT_TRUE(created.ok) << created.error;
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "upd"}}).ok);
  auto probe = [&](const std::string& exec_id) {
    std::string script =
        std::string(kProbes) + "while [ ! -e /tmp/kmsg ]; do sleep 0.05; done; w kmsg /tmp/kmsg";
    auto reply =
        client.call("ExecProcess",
                    {{"container_id", "upd"},
                     {"exec_id", exec_id},
                     {"process", {{"args", {"/bin/sh", "-c", script}}, {"env", {"PATH=/bin"}}}}});
    if (!reply.ok) return "ExecProcess: " + reply.error;
    UniqueFd out = attach(agent_->socket_path(), "upd", exec_id, "stdout");
    std::string text = read_all(out.get());
    client.call("WaitProcess", {{"container_id", "upd"}, {"exec_id", exec_id}});
    return text;
  };
  auto update = [&](const nlohmann::json& devices) {
    auto reply = client.call("UpdateContainer",
                             {{"container_id", "upd"}, {"resources", {{"devices", devices}}}});
    EXPECT_TRUE(reply.ok) << reply.error;
  };
  nlohmann::json deny_all = {{{"allow", false}, {"access", "rwm"}}};
  nlohmann::json kmsg_write = {
      {{"allow", false}, {"access", "rwm"}},
      {{"allow", true}, {"type", "c"}, {"major", 1}, {"minor", 11}, {"access", "w"}}};
  EXPECT_EQ(probe("before"), "kmsg write EPERM\n");
  update(kmsg_write);
  EXPECT_EQ(probe("allowed"), "kmsg write open\n");
  update(deny_all);
  EXPECT_EQ(probe("denied"), "kmsg write EPERM\n");
  EXPECT_TRUE(client.call("RemoveContainer", {{"container_id", "upd"}, {"force", true}}).ok);
}

}  // namespace
}  // namespace kvrun::agent::test
