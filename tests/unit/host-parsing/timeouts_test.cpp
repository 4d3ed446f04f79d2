// Every host-side call to a guest's agent and to kvrun-vmm's control socket ends within its
// timeout when the other side accepts and never answers, and a pod member whose creation timed
// out leaves no disk slot attached.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "common/deadline_io.h"
#include "common/fd_passing.h"
#include "common/full_io.h"
#include "fake_peer.h"
#include "protocol/client.h"
#include "protocol/connect.h"
#include "protocol/framing.h"
#include "shim/sandbox/agent_connect.h"
#include "shim/sandbox/pod_member.h"
#include "vmm/control/client.h"

namespace kvrun {
namespace {

using namespace std::chrono_literals;
using test::FakeServer;
using test::Peer;

void silent(Peer& peer) { peer.hold(); }

// A test's bound: the timeout, plus scheduling slack, well below the fakes' watchdog.
constexpr long kBoundMs = 1500;

TEST(AgentTimeouts, VsockHandshakeThatNeverAnswersTimesOut) {
  test::TempDir dir;
  FakeServer vmm(dir.path() / "vsock.sock", silent);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(sandbox::connect_agent("vsock:" + vmm.path().string(), 300ms), TimeoutError);
  EXPECT_LT(test::elapsed_ms(start), kBoundMs);
  start = std::chrono::steady_clock::now();
  EXPECT_THROW(protocol::connect_agent("vsock-uds:" + vmm.path().string(), 300ms), TimeoutError);
  EXPECT_LT(test::elapsed_ms(start), kBoundMs);
}

TEST(AgentTimeouts, HandshakeReplyIsPrintableInErrors) {
  test::TempDir dir;
  FakeServer vmm(dir.path() / "vsock.sock", [](Peer& peer) {
    test::read_line(peer.fd);
    write_all(peer.fd, "NO \x1b[31m\xff\n", "fake vmm");
    peer.hold();
  });
  try {
    sandbox::connect_agent("vsock:" + vmm.path().string(), 1s);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "vsock handshake on " + vmm.path().string() +
                                         ": unexpected reply \"NO \\x1b[31m\\xff\"");
  }
}

TEST(AgentTimeouts, ConnectionKeepsNoTimeoutForStreams) {
  // stdio streams block as long as the container lives: connect_agent's bound ends with it.
  test::TempDir dir;
  FakeServer agent(dir.path() / "agent.sock", silent);
  UniqueFd fd = sandbox::connect_agent("unix:" + agent.path().string(), 300ms);
  timeval tv{1, 0};
  socklen_t size = sizeof tv;
  ASSERT_EQ(::getsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, &size), 0);
  EXPECT_EQ(tv.tv_sec, 0);
  EXPECT_EQ(tv.tv_usec, 0);
}

// A control socket that reads the request (and its descriptor) and never answers.
void silent_control(Peer& peer) {
  auto received = receive_with_fds(peer.fd, 128, "fake control");
  peer.record(received.payload);
  peer.hold();
}

TEST(ControlTimeouts, AttachAndDetachThatNeverAnswerTimeOut) {
  test::TempDir dir;
  FakeServer vmm(dir.path() / "control.sock", silent_control);
  UniqueFd image(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  auto start = std::chrono::steady_clock::now();
  try {
    vmm::control::attach_disk(vmm.path(), image.get(), 300ms);
    FAIL() << "no error";
  } catch (const TimeoutError& e) {
    EXPECT_EQ(std::string(e.what()),
              vmm.path().string() + ": ATTACH-DISK: no answer within 300 ms");
  }
  EXPECT_LT(test::elapsed_ms(start), kBoundMs);
  start = std::chrono::steady_clock::now();
  EXPECT_THROW(vmm::control::detach_disk(vmm.path(), 2, 300ms), TimeoutError);
  EXPECT_LT(test::elapsed_ms(start), kBoundMs);
}

// The pod VM's control socket: ATTACH-DISK answered with slot 3, every request recorded.
class FakeControl {
 public:
  explicit FakeControl(const std::filesystem::path& path)
      : server_(path, [](Peer& peer) {
          auto received = receive_with_fds(peer.fd, 128, "fake control");
          peer.record(received.payload);
          write_all(peer.fd, received.payload == "ATTACH-DISK\n" ? "OK 3\n" : "OK\n",
                    "fake control");
        }) {}
  const std::filesystem::path& path() const { return server_.path(); }
  std::vector<std::string> requests() const { return server_.records(); }

 private:
  FakeServer server_;
};

// An agent that reads each request, records its type, and never answers.
class SilentAgent {
 public:
  explicit SilentAgent(const std::filesystem::path& path)
      : server_(path, [](Peer& peer) {
          if (auto frame = protocol::read_frame(peer.fd))
            peer.record(std::string(protocol::type_name(protocol::decode_request(*frame).body)));
          peer.hold();
        }) {}
  std::string address() const { return "unix:" + server_.path().string(); }
  std::vector<std::string> requests() const { return server_.records(); }

 private:
  FakeServer server_;
};

protocol::CreateContainer member_request() {
  protocol::CreateContainer request;
  request.container_id = "m1";
  request.bundle_path = "/b";
  return request;
}

TEST(PodMemberTimeouts, SilentAgentAtCreateLeavesNoSlotAttached) {
  test::TempDir dir;
  FakeControl control(dir.path() / "control.sock");
  SilentAgent agent(dir.path() / "agent.sock");
  sandbox::PodMember pod{agent.address(), control.path(), ::getpid()};
  sandbox::MemberTimeouts timeouts{.connect = 300ms, .agent = 300ms, .control = 300ms};
  UniqueFd image(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  auto start = std::chrono::steady_clock::now();
  protocol::Client client(sandbox::connect_agent(pod.agent_address, timeouts.connect),
                          timeouts.agent);
  std::optional<unsigned> slot;
  std::vector<unsigned> recorded;
  EXPECT_THROW(sandbox::create_in_pod(
                   client, member_request(), pod, image.get(), slot,
                   [&](unsigned s) { recorded.push_back(s); }, timeouts),
               TimeoutError);
  EXPECT_EQ(slot, 3u);
  EXPECT_EQ(recorded, std::vector<unsigned>{3});
  // What the monitor does after a failed create.
  sandbox::remove_from_pod(pod, "m1", slot, timeouts);
  EXPECT_LT(test::elapsed_ms(start), 2 * kBoundMs);
  EXPECT_EQ(control.requests(), (std::vector<std::string>{"ATTACH-DISK\n", "DETACH-DISK 3\n"}));
  EXPECT_EQ(agent.requests(), (std::vector<std::string>{"CreateContainer", "RemoveContainer"}));
}

TEST(PodMemberTimeouts, SilentControlSocketAtAttachFailsBeforeTheAgent) {
  test::TempDir dir;
  FakeServer control(dir.path() / "control.sock", silent_control);
  SilentAgent agent(dir.path() / "agent.sock");
  sandbox::PodMember pod{agent.address(), control.path(), ::getpid()};
  sandbox::MemberTimeouts timeouts{.connect = 300ms, .agent = 300ms, .control = 300ms};
  UniqueFd image(::open("/dev/null", O_RDONLY | O_CLOEXEC));

  auto start = std::chrono::steady_clock::now();
  protocol::Client client(sandbox::connect_agent(pod.agent_address, timeouts.connect),
                          timeouts.agent);
  std::optional<unsigned> slot;
  EXPECT_THROW(sandbox::create_in_pod(
                   client, member_request(), pod, image.get(), slot, [](unsigned) {}, timeouts),
               TimeoutError);
  EXPECT_LT(test::elapsed_ms(start), kBoundMs);
  EXPECT_EQ(slot, std::nullopt);  // no slot known: nothing to detach
  EXPECT_TRUE(agent.requests().empty());
}

}  // namespace
}  // namespace kvrun
