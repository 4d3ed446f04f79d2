// OCI hooks with a VM sandbox (label linux): the host's kinds run on the host, startContainer
// inside the guest's container, where its path resolves and where it leaves what it wrote for
// the container's process.
#include <fstream>
#include <sstream>

#include "cli_fixture.h"

namespace kvrun::e2e {
namespace {

using nlohmann::json;

class HooksVmTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    use_vm_sandbox(KVRUN_VMM_PATH, KVRUN_INITRD_PATH);
  }
};

TEST_F(HooksVmTest, StartContainerRunsInsideTheGuestsContainerAndTheRestOnTheHost) {
  auto log = scratch_ / "hooks.log";
  auto host_hook = [&](const std::string& name) {
    return json{{"path", "/bin/sh"},
                {"args", {"sh", "-c", "echo \"$0 $(cat)\" >> " + log.string(), name}}};
  };
  // /bin/sh here is the busybox of the container's rootfs, in the guest; the files it writes
  // are in the container's overlay, which the host never sees.
  json in_container = {
      {"path", "/bin/sh"},
      {"args",
       {"sh", "-c",
        "cat > /hook-state; echo \"in $(cat /proc/sys/kernel/hostname)\" > /tmp/marker"}}};
  json hooks = {{"createRuntime", {host_hook("createRuntime")}},
                {"createContainer", {host_hook("createContainer")}},
                {"startContainer", {in_container}},
                {"poststart", {host_hook("poststart")}},
                {"poststop", {host_hook("poststop")}}};
  auto dir = bundle("b", "cat /hook-state; echo; cat /tmp/marker",
                    {{"hooks", hooks}, {"annotations", {{"test", "vm"}}}});
  Result r = kvrun({"run", "-b", dir.string(), "v1"}, {.input = "", .timeout_seconds = 120});
  ASSERT_EQ(r.status, 0) << r.err;
  auto newline = r.out.find('\n');
  ASSERT_NE(newline, std::string::npos) << r.out;
  json state = json::parse(r.out.substr(0, newline), nullptr, false);
  ASSERT_FALSE(state.is_discarded()) << r.out;
  EXPECT_EQ(state["id"], "v1");
  EXPECT_EQ(state["status"], "created");
  EXPECT_EQ(state["pid"], 1);                // the container's init, in its own PID namespace
  EXPECT_EQ(state["bundle"], dir.string());  // the host's, as the spec's state names it
  EXPECT_EQ(state["annotations"], json({{"test", "vm"}}));
  EXPECT_EQ(r.out.substr(newline + 1), "in kvrun-e2e\n");  // the container's UTS namespace
  EXPECT_FALSE(std::filesystem::exists(rootfs_ / "hook-state"));

  std::ifstream in(log);
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) names.push_back(line.substr(0, line.find(' ')));
  EXPECT_EQ(names, (std::vector<std::string>{"createRuntime", "createContainer", "poststart",
                                             "poststop"}));
  expect_nothing_left();
}

}  // namespace
}  // namespace kvrun::e2e
