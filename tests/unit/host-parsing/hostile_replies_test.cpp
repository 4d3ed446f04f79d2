// protocol::Client against a fake agent that answers with hostile replies: each is one typed
// error of the call, never a crash of the process that made it, and never a hang.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "common/full_io.h"
#include "fake_peer.h"
#include "protocol/client.h"
#include "protocol/framing.h"
#include "protocol/replies.h"
#include "protocol/untrusted_json.h"

namespace kvrun::protocol {
namespace {

using namespace std::chrono_literals;
using test::FakePeer;
using test::Peer;

// Answers the first request with answer(its id), then stays silent.
test::Serve answer_with(std::function<std::string(std::uint64_t)> answer) {
  return [answer](Peer& peer) {
    auto frame = read_frame(peer.fd);
    if (!frame) return;
    write_frame(peer.fd, answer(decode_request(*frame).id));
    peer.hold();
  };
}

std::string deep_body(std::uint64_t id, std::size_t depth) {
  return "{\"id\":" + std::to_string(id) +
         ",\"ok\":true,\"body\":{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}}";
}

template <typename E>
E error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const E& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "another error: " << e.what();
    throw;
  }
  ADD_FAILURE() << "no error";
  throw std::logic_error("no error");
}

CreateContainer bundle_request(const std::string& id) {
  CreateContainer request;
  request.container_id = id;
  request.bundle_path = "/b";
  return request;
}

long max_rss_kib() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

TEST(HostileReplies, AMillionLevelsDeepIsOneErrorNotACrash) {
  FakePeer agent(answer_with([](std::uint64_t id) { return deep_body(id, 1000000); }));
  Client client(std::move(agent.client), 2s);
  auto e = error_of<JsonError>([&] { client.call(Ping{}); });
  EXPECT_EQ(e.kind(), JsonError::Kind::kTooDeep);
  EXPECT_STREQ(e.what(), "Ping: reply: JSON nested deeper than 64 levels");
}

TEST(HostileReplies, DeepErrorReplyIsRefusedToo) {
  // Depth anywhere counts, not only in the body: also an error reply's unknown fields.
  FakePeer agent(answer_with([](std::uint64_t id) {
    return "{\"id\":" + std::to_string(id) +
           ",\"ok\":false,\"error\":\"x\",\"y\":" + std::string(500000, '{') + "}";
  }));
  Client client(std::move(agent.client), 2s);
  EXPECT_EQ(error_of<JsonError>([&] { client.call(StartContainer{"c"}); }).kind(),
            JsonError::Kind::kTooDeep);
}

TEST(HostileReplies, DecodeReplySurvivesAMillionLevels) {
  // The crash this guards against: parsing worked, copying the body into the Reply recursed.
  EXPECT_THROW(decode_reply(deep_body(1, 1000000)), JsonError);
  EXPECT_EQ(decode_reply(deep_body(1, 60)).id, 1u);
}

TEST(HostileReplies, AGibibyteLengthIsRefusedWithoutAllocating) {
  FakePeer agent([](Peer& peer) {
    (void)read_frame(peer.fd);
    const char header[4] = {0x40, 0, 0, 0};  // 1 GiB
    write_all(peer.fd, std::string_view(header, 4), "fake agent");
    peer.hold();
  });
  long before = max_rss_kib();
  Client client(std::move(agent.client), 2s);
  auto start = std::chrono::steady_clock::now();
  auto e = error_of<Error>([&] { client.call(Ping{}); });
  EXPECT_STREQ(e.what(), "Ping: frame of 1073741824 bytes exceeds the maximum of 4194304");
  EXPECT_LT(test::elapsed_ms(start), 500);  // refused from the header, not after a wait
  EXPECT_LT(max_rss_kib() - before, 64 * 1024);
}

TEST(HostileReplies, AWideReplyIsRefusedBeforeItsTreeIsBuilt) {
  // 4 MiB of "{}," built as a tree: 1.4 million objects, about 107 MiB of the caller's heap.
  FakePeer agent(answer_with([](std::uint64_t id) {
    std::string body = "{\"id\":" + std::to_string(id) + ",\"ok\":true,\"body\":{\"a\":[";
    while (body.size() < (4u << 20) - 16) body += "{},";
    return body + "{}]}}";
  }));
  long before = max_rss_kib();
  Client client(std::move(agent.client), 2s);
  auto e = error_of<JsonError>([&] { client.call(Ping{}); });
  EXPECT_EQ(e.kind(), JsonError::Kind::kTooManyValues);
  // The reply's own 4 MiB copies (more under ASan) stay well below the tree's 107 MiB.
  EXPECT_LT(max_rss_kib() - before, 64 * 1024);
}

TEST(HostileReplies, InvalidUtf8IsOneTypedError) {
  FakePeer agent(answer_with([](std::uint64_t id) {
    return "{\"id\":" + std::to_string(id) + ",\"ok\":false,\"error\":\"bad \xc0\xaf path\"}";
  }));
  Client client(std::move(agent.client), 2s);
  auto e = error_of<JsonError>([&] { client.call(Ping{}); });
  EXPECT_EQ(e.kind(), JsonError::Kind::kInvalidUtf8);
  EXPECT_STREQ(e.what(), "Ping: reply: invalid UTF-8 at byte 32");
}

TEST(HostileReplies, AnotherIdIsAnError) {
  FakePeer agent(answer_with([](std::uint64_t id) { return encode_ok(id + 1, {{"version", 1}}); }));
  Client client(std::move(agent.client), 2s);
  auto e = error_of<ReplyError>([&] { client.call(Ping{}); });
  EXPECT_EQ(e.kind(), ReplyError::Kind::kWrongId);
  EXPECT_STREQ(e.what(), "Ping: reply for request 2 instead of 1");
}

TEST(HostileReplies, TheWrongKindOfReplyIsAnError) {
  struct Case {
    RequestBody request;
    nlohmann::json body;
    std::string error;
  };
  const std::vector<Case> cases = {
      {WaitProcess{"c", ""},
       {{"pid", 7}},
       "WaitProcess: reply.body.exit_status: required field is missing"},
      {WaitProcess{"c", ""},
       {{"exit_status", "0"}},
       "WaitProcess: reply.body.exit_status: expected an integer in [0, 255]"},
      {WaitProcess{"c", ""},
       {{"exit_status", 1000000000}},
       "WaitProcess: reply.body.exit_status: expected an integer in [0, 255]"},
      {StartContainer{"c"}, {{"pid", 3}}, "StartContainer: reply.body.pid: unknown field"},
      // The guest chooses an unknown field's name: it reaches terminals and logs escaped.
      {StartContainer{"c"},
       {{"\x1b]0;owned\x07\nFAKE LOG LINE", 3}},
       "StartContainer: reply.body.\\x1b]0;owned\\x07\\x0aFAKE LOG LINE: unknown field"},
      {bundle_request("c"),
       {{"pid", -1}},
       "CreateContainer: reply.body.pid: expected an integer in [1, 2147483647]"},
      {GetOomEvent{},
       {{"container_id", "../etc"}},
       "GetOomEvent: reply.body.container_id: must be 1-64 characters of [A-Za-z0-9_.-] not "
       "starting with '.'"},
      {ListProcesses{"c"},
       {{"processes", {{{"pid", 1}, {"args", {1}}}}}},
       "ListProcesses: reply.body.processes[0].args[0]: expected a string"},
      {StatsContainer{"c"},
       {{"memory", {{"current", "lots"}}}},
       "StatsContainer: reply.body.memory.current: expected an integer in [0, "
       "18446744073709551615]"},
  };
  for (const auto& c : cases) {
    FakePeer agent(answer_with([body = c.body](std::uint64_t id) { return encode_ok(id, body); }));
    Client client(std::move(agent.client), 2s);
    auto e = error_of<ReplyError>(
        [&] { std::visit([&](const auto& request) { client.call(request); }, c.request); });
    EXPECT_EQ(e.kind(), ReplyError::Kind::kWrongKind);
    EXPECT_EQ(std::string(e.what()), c.error);
  }
}

TEST(HostileReplies, RightKindsPass) {
  FakePeer agent([](Peer& peer) {
    while (auto frame = read_frame(peer.fd)) {
      Request request = decode_request(*frame);
      nlohmann::json body = nlohmann::json::object();
      if (std::holds_alternative<ListProcesses>(request.body))
        body = {{"processes",
                 {{{"pid", 1}, {"exec_id", ""}, {"args", {"sh"}}},
                  {{"pid", 9}, {"args", nlohmann::json::array()}}}}};
      if (std::holds_alternative<StatsContainer>(request.body))
        body = {{"memory", {{"current", 5}, {"max", nullptr}}}, {"pids", {{"current", 1}}}};
      if (std::holds_alternative<WaitProcess>(request.body)) body = {{"exit_status", 137}};
      write_frame(peer.fd, encode_ok(request.id, body));
    }
  });
  Client client(std::move(agent.client), 2s);
  ProcessList list = client.call(ListProcesses{"c"});
  ASSERT_EQ(list.processes.size(), 2u);
  EXPECT_EQ(list.processes[0].exec_id, "");
  EXPECT_EQ(list.processes[1].exec_id, std::nullopt);
  EXPECT_EQ(list.processes[1].pid, 9);
  ContainerStats stats = client.call(StatsContainer{"c"});
  ASSERT_TRUE(stats.memory);
  EXPECT_EQ(stats.memory->current, 5u);
  EXPECT_EQ(stats.memory->max, std::nullopt);  // null: the cgroup cannot tell
  EXPECT_FALSE(stats.cpu);
  EXPECT_EQ(client.call(WaitProcess{"c", ""}).exit_status, 137);
  EXPECT_NO_THROW(client.call(SignalProcess{"c", "", 9}));
}

TEST(HostileReplies, AnErrorReplyIsAnAgentErrorWithItsCode) {
  FakePeer agent(answer_with([](std::uint64_t id) {
    return encode_error(id, ErrorCode::kNotFound, "container c: no such container");
  }));
  Client client(std::move(agent.client), 2s);
  auto e = error_of<AgentError>([&] { client.call(StartContainer{"c"}); });
  EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  EXPECT_STREQ(e.what(), "StartContainer: container c: no such container");
}

TEST(HostileReplies, AGuestsUnknownErrorCodeIsInternal) {
  FakePeer agent(answer_with([](std::uint64_t id) {
    return "{\"id\":" + std::to_string(id) + R"(,"ok":false,"code":"gone_fishing","error":"e"})";
  }));
  Client client(std::move(agent.client), 2s);
  EXPECT_EQ(error_of<AgentError>([&] { client.call(Ping{}); }).code(), ErrorCode::kInternal);
}

TEST(HostileReplies, AnErrorCodeOfTheWrongKindIsRefused) {
  FakePeer agent(answer_with([](std::uint64_t id) {
    return "{\"id\":" + std::to_string(id) + R"(,"ok":false,"code":["not_found"],"error":"e"})";
  }));
  Client client(std::move(agent.client), 2s);
  try {
    client.call(Ping{});
    ADD_FAILURE() << "no error";
  } catch (const AgentError& e) {
    ADD_FAILURE() << "taken for the agent's refusal: " << e.what();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "Ping: reply.code: expected a string");
  }
}

TEST(HostileReplies, AnErrorReplyForAnotherIdIsAWrongId) {
  FakePeer agent(answer_with(
      [](std::uint64_t id) { return encode_error(id + 3, ErrorCode::kNotFound, "no"); }));
  Client client(std::move(agent.client), 2s);
  EXPECT_EQ(error_of<ReplyError>([&] { client.call(Ping{}); }).kind(), ReplyError::Kind::kWrongId);
}

TEST(HostileReplies, ErrorTextIsOneBoundedLine) {
  FakePeer agent(answer_with([](std::uint64_t id) {
    return "{\"id\":" + std::to_string(id) + ",\"ok\":false,\"error\":\"evil\\u001b[2J\\nline" +
           std::string(10000, 'x') + "\"}";
  }));
  Client client(std::move(agent.client), 2s);
  std::string error = error_of<AgentError>([&] { client.call(Ping{}); }).what();
  EXPECT_EQ(error.substr(0, 19), "Ping: evil [2J line");
  EXPECT_EQ(error.size(), std::string("Ping: ").size() + 4096 + 3);
  EXPECT_EQ(error.find('\x1b'), std::string::npos);
}

TEST(HostileReplies, SilenceAfterAcceptTimesOut) {
  FakePeer agent([](Peer& peer) { peer.hold(); });
  Client client(std::move(agent.client), 300ms);
  auto start = std::chrono::steady_clock::now();
  auto e = error_of<TimeoutError>([&] { client.call(bundle_request("c")); });
  long took = test::elapsed_ms(start);
  EXPECT_STREQ(e.what(), "CreateContainer: no reply from the agent within 300 ms");
  EXPECT_GE(took, 290);
  EXPECT_LT(took, 1500);
}

TEST(HostileReplies, ATrickleDoesNotStretchTheTimeout) {
  // One byte every 100 ms keeps every single read(2) inside any per-read timeout.
  FakePeer agent([](Peer& peer) {
    (void)read_frame(peer.fd);
    std::string reply = encode_frame(encode_ok(1, {{"version", 1}}));
    for (char c : reply) {
      if (peer.stop.wait_for(100ms) == std::future_status::ready) return;
      if (::send(peer.fd, &c, 1, MSG_NOSIGNAL) != 1) return;
    }
  });
  Client client(std::move(agent.client), 500ms);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client.call(Ping{}), TimeoutError);
  EXPECT_LT(test::elapsed_ms(start), 1500);
}

TEST(HostileReplies, AnAgentThatReadsNothingTimesOutTheRequest) {
  // A request larger than the socket buffers: the write itself must end by the deadline.
  FakePeer agent([](Peer& peer) { peer.hold(); });
  int small = 4096;
  ::setsockopt(agent.client.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  Client client(std::move(agent.client), 300ms);
  CreateContainer big;
  big.container_id = "c";
  big.config = nlohmann::json{{"x", std::string(3 << 20, 'a')}};
  auto start = std::chrono::steady_clock::now();
  auto e = error_of<TimeoutError>([&] { client.call(big); });
  EXPECT_STREQ(e.what(), "CreateContainer: the agent took no request within 300 ms");
  EXPECT_LT(test::elapsed_ms(start), 1500);
}

TEST(HostileReplies, WaitingRequestsWaitButTheirFrameMayNotStall) {
  // WaitProcess is answered when the process exits: no bound until the first byte...
  FakePeer late(answer_with([](std::uint64_t id) {
    std::this_thread::sleep_for(600ms);
    return encode_ok(id, {{"exit_status", 3}});
  }));
  Client waiting(std::move(late.client), 200ms);
  EXPECT_EQ(waiting.call(WaitProcess{"c", ""}).exit_status, 3);
  // ...but once it began, the rest must follow within the timeout.
  FakePeer half([](Peer& peer) {
    (void)read_frame(peer.fd);
    std::string reply = encode_frame(encode_ok(1, {{"exit_status", 3}}));
    write_all(peer.fd, std::string_view(reply).substr(0, 6), "fake agent");
    peer.hold();
  });
  Client stalled(std::move(half.client), 200ms);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(stalled.call(WaitProcess{"c", ""}), TimeoutError);
  EXPECT_LT(test::elapsed_ms(start), 1500);
}

TEST(HostileReplies, AttachStdioTimesOut) {
  FakePeer agent([](Peer& peer) { peer.hold(); });
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(
      attach_stdio(std::move(agent.client), AttachStdio{"c", "", StdioStream::kStdout}, 300ms),
      TimeoutError);
  EXPECT_LT(test::elapsed_ms(start), 1500);
}

TEST(HostileReplies, ClientTakesTheSocketsReceiveTimeout) {
  FakePeer agent([](Peer& peer) { peer.hold(); });
  timeval tv{0, 250000};
  ::setsockopt(agent.client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  Client client(std::move(agent.client));
  EXPECT_GE(client.timeout(), 250ms);  // the kernel keeps it in jiffies
  EXPECT_LT(client.timeout(), 270ms);
  FakePeer other([](Peer& peer) { peer.hold(); });
  EXPECT_EQ(Client(std::move(other.client)).timeout(), kDefaultCallTimeout);
}

}  // namespace
}  // namespace kvrun::protocol
