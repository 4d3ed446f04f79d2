#include "protocol/client.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "common/error.h"
#include "protocol/framing.h"

namespace kvrun::protocol {
namespace {

// A fake agent on the other end of a socketpair answering one request with `reply(id)`.
template <typename Reply>
std::thread fake_agent(int fd, Reply reply) {
  return std::thread([fd, reply] {
    auto frame = read_frame(fd);
    if (!frame) return;
    write_frame(fd, reply(decode_request(*frame).id));
  });
}

std::pair<UniqueFd, UniqueFd> socket_pair() {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

TEST(Client, CallMatchesRepliesById) {
  auto [mine, agent] = socket_pair();
  auto thread = fake_agent(agent.get(), [](std::uint64_t id) {
    return encode_ok(id, {{"version", 1}});
  });
  Client client(std::move(mine));
  EXPECT_EQ(client.call(Ping{}).version, 1);
  thread.join();
}

TEST(Client, ErrorRepliesAndWrongIdsThrow) {
  auto [mine, agent] = socket_pair();
  auto thread = fake_agent(agent.get(), [](std::uint64_t id) {
    return encode_error(id, ErrorCode::kNotFound, "no such container");
  });
  Client client(std::move(mine));
  try {
    client.call(StartContainer{"c"});
    FAIL();
  } catch (const AgentError& e) {
    EXPECT_STREQ(e.what(), "StartContainer: no such container");
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
  }
  thread.join();
  auto other = fake_agent(agent.get(), [](std::uint64_t id) { return encode_ok(id + 5); });
  EXPECT_THROW(client.call(Ping{}), Error);
  other.join();
  agent.reset();
  EXPECT_THROW(client.call(Ping{}), Error);  // closed
}

}  // namespace
}  // namespace kvrun::protocol
