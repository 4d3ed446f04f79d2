// Pods: CreateSandbox's shared namespaces, joined by the containers created with "sandbox".
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include "root/container_fixture.h"

namespace kvrun::agent::test {
namespace {

class SandboxAsRoot : public ContainerAsRoot {
 protected:
  // What CRI sends for a pod's container: the pause container's namespaces as host paths
  // (here this host's PID 1, which would be the wrong namespaces if they were used).
  static nlohmann::json pod_config(const std::vector<std::string>& args) {
    auto config = base_config(args);
    config.erase("hostname");  // the pod's, set by CreateSandbox
    config["linux"]["namespaces"] = {{{"type", "mount"}},
                                     {{"type", "pid"}},
                                     {{"type", "network"}, {"path", "/proc/1/ns/net"}},
                                     {{"type", "ipc"}, {"path", "/proc/1/ns/ipc"}},
                                     {{"type", "uts"}, {"path", "/proc/1/ns/uts"}}};
    return config;
  }
  protocol::ReplyEnvelope create_in_pod(AgentClient& client, const std::string& id,
                                        const nlohmann::json& config) {
    return client.call("CreateContainer", {{"container_id", id},
                                           {"config", config},
                                           {"rootfs", rootfs_.string()},
                                           {"sandbox", true}});
  }
};

// Reads from fd until text has arrived (the server keeps its stream open).
bool read_until(int fd, const std::string& text, std::string& got) {
  char buffer[256];
  while (got.find(text) == std::string::npos) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    got.append(buffer, static_cast<std::size_t>(n));
  }
  return true;
}

constexpr const char* kShowNamespaces =
    "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc; ";

TEST_F(SandboxAsRoot, PodContainersShareHostnameNetworkAndIpc) {
  AgentClient client(agent_->socket_path());
  auto sandbox = client.call(
      "CreateSandbox",
      {{"sandbox_id", "pod"}, {"hostname", "pod-host"}, {"shared", {"network", "ipc", "uts"}}});
  ASSERT_TRUE(sandbox.ok) << sandbox.error;
  EXPECT_EQ(client.call("CreateSandbox", {{"sandbox_id", "pod2"}, {"shared", {"ipc"}}}).error,
            "sandbox pod: already exists");

  // A server listening on the pod's loopback, and a client in another container of the pod.
  auto server =
      create_in_pod(client, "server", pod_config({"/bin/sh", "-c", "sleep 1000 | nc -l -p 7777"}));
  ASSERT_TRUE(server.ok) << server.error;
  UniqueFd server_out = attach(agent_->socket_path(), "server", "", "stdout");
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "server"}}).ok);
  auto client_config =
      pod_config({"/bin/sh", "-c",
                  std::string(kShowNamespaces) +
                      "for i in $(seq 200); do echo hello | nc 127.0.0.1 7777 && exit 0; "
                      "sleep 0.05; done; exit 1"});
  ASSERT_TRUE(create_in_pod(client, "client", client_config).ok);
  UniqueFd client_out = attach(agent_->socket_path(), "client", "", "stdout");
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "client"}}).ok);
  std::string shown = read_all(client_out.get());
  ASSERT_EQ(client.call("WaitProcess", {{"container_id", "client"}}).body["exit_status"], 0)
      << shown;
  std::string received;
  EXPECT_TRUE(read_until(server_out.get(), "hello\n", received)) << received;

  // A container outside the pod has namespaces of its own.
  auto outsider = create(client, "outsider", base_config({"/bin/sh", "-c", kShowNamespaces}));
  ASSERT_TRUE(outsider.ok) << outsider.error;
  UniqueFd outsider_out = attach(agent_->socket_path(), "outsider", "", "stdout");
  ASSERT_TRUE(client.call("StartContainer", {{"container_id", "outsider"}}).ok);
  std::string outside = read_all(outsider_out.get());

  // The pod's namespaces: the server's (exec'd into it) and the client's are the same, and
  // neither is this host's nor the outsider's.
  auto server_ns = client.call(
      "ExecProcess",
      {{"container_id", "server"},
       {"exec_id", "ns"},
       {"process", {{"args", {"/bin/sh", "-c", kShowNamespaces}}, {"env", {"PATH=/bin"}}}}});
  ASSERT_TRUE(server_ns.ok) << server_ns.error;
  UniqueFd server_ns_out = attach(agent_->socket_path(), "server", "ns", "stdout");
  std::string in_server = read_all(server_ns_out.get());
  EXPECT_EQ(shown, in_server);
  EXPECT_EQ(shown.substr(0, shown.find('\n')), "pod-host") << shown;
  std::string host_net = std::filesystem::read_symlink("/proc/self/ns/net").string();
  EXPECT_EQ(shown.find(host_net), std::string::npos) << shown;
  EXPECT_EQ(outside.substr(0, outside.find('\n')), "kvrun-test") << outside;
  auto second_line = [](const std::string& text) {
    std::size_t start = text.find('\n') + 1;
    return text.substr(start, text.find('\n', start) - start);
  };
  EXPECT_NE(second_line(outside), second_line(shown)) << outside << shown;
  EXPECT_NE(second_line(outside), host_net);

  ASSERT_TRUE(
      client.call("SignalProcess", {{"container_id", "server"}, {"signal", 9}, {"all", true}}).ok);
  ASSERT_TRUE(client.call("DestroySandbox").ok);
}

TEST_F(SandboxAsRoot, BadSandboxRequestsAreRefused) {
  AgentClient client(agent_->socket_path());
  // Without CreateSandbox there is nothing to join.
  auto alone = create_in_pod(client, "alone", pod_config({"true"}));
  EXPECT_EQ(alone.error, "body.sandbox: there is no sandbox (CreateSandbox first)");
  EXPECT_EQ(client.call("CreateSandbox", {{"sandbox_id", "p"}, {"shared", {"pid"}}}).error,
            "body.shared[0]: expected one of \"network\", \"ipc\", \"uts\", got \"pid\"");
  EXPECT_EQ(client.call("CreateSandbox", {{"sandbox_id", "p"}, {"shared", {"uts", "uts"}}}).error,
            "body.shared[1]: \"uts\" listed twice");
  EXPECT_EQ(client
                .call("CreateSandbox",
                      {{"sandbox_id", "p"}, {"hostname", "h"}, {"shared", nlohmann::json::array()}})
                .error,
            "body.hostname: needs \"uts\" in body.shared");
  // Only the network shared: a member's ipc path is the host's and names nothing the guest
  // should join (there, some guest process's namespace, the agent's own for /proc/1): refused.
  // Before, it was opened as given.
  ASSERT_TRUE(client.call("CreateSandbox", {{"sandbox_id", "p"}, {"shared", {"network"}}}).ok);
  auto config = pod_config({"true"});
  EXPECT_EQ(create_in_pod(client, "partial", config).error,
            "config.linux.namespaces: the ipc namespace at /proc/1/ns/ipc is not one that "
            "sandbox p shares");
  // Without paths of their own the member's ipc and uts namespaces are new ones.
  config["linux"]["namespaces"][3].erase("path");
  config["linux"]["namespaces"][4].erase("path");
  auto created = create_in_pod(client, "partial", config);
  EXPECT_TRUE(created.ok) << created.error;
}

}  // namespace
}  // namespace kvrun::agent::test
