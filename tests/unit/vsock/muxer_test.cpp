// The multiplexer against real Unix sockets; the guest is played by the test, packet by packet.
#include "vmm/devices/virtio/vsock/muxer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"
#include "tests/unit/vsock/muxer_fixture.h"

namespace kvrun::vmm::vsock {
namespace {

using namespace std::chrono_literals;
using namespace test;
namespace fs = std::filesystem;

TEST_F(VsockMuxer, HostConnectHandshakeThenDataBothWays) {
  make();
  auto [client, local] = host_connect(1024);
  ASSERT_TRUE(client);
  EXPECT_EQ(mux_->connection_count(), 1u);

  write_all(client.get(), "ping");
  auto rw = wait_for(Op::kRw);
  ASSERT_TRUE(rw);
  EXPECT_EQ(rw->payload, "ping");
  EXPECT_EQ(rw->header.src_port, local);
  EXPECT_EQ(rw->header.dst_port, 1024u);
  EXPECT_EQ(rw->header.buf_alloc, 256u * 1024);

  send(Op::kRw, local, 1024, "pong");
  EXPECT_EQ(read_some(client.get(), 4), "pong");
}

TEST_F(VsockMuxer, BytesAfterTheConnectLineWaitForTheGuestToAccept) {
  make();
  UniqueFd client = unix_connect(uds());
  write_all(client.get(), "CONNECT 7\nearly");
  auto req = wait_for(Op::kRequest);
  ASSERT_TRUE(req);
  pump();
  EXPECT_TRUE(drain().empty()) << "no data before RESPONSE";
  send(Op::kResponse, req->header.src_port, 7);
  auto rw = wait_for(Op::kRw);
  ASSERT_TRUE(rw);
  EXPECT_EQ(rw->payload, "early");
}

TEST_F(VsockMuxer, GuestRefusingTheConnectionClosesTheClientWithoutOk) {
  make();
  UniqueFd client = unix_connect(uds());
  write_all(client.get(), "CONNECT 1024\n");
  auto req = wait_for(Op::kRequest);
  ASSERT_TRUE(req);
  send(Op::kRst, req->header.src_port, 1024);
  EXPECT_TRUE(reads_eof(client.get(), 500ms));
  EXPECT_EQ(mux_->connection_count(), 0u);
}

TEST_F(VsockMuxer, GuestNotAnsweringTimesOutToEofAndAnRst) {
  MuxerConfig config;
  config.connect_timeout = 100ms;
  make(config);
  UniqueFd client = unix_connect(uds());
  write_all(client.get(), "CONNECT 1024\n");
  auto req = wait_for(Op::kRequest);
  ASSERT_TRUE(req);
  auto rst = wait_for(Op::kRst, 1000ms);
  ASSERT_TRUE(rst) << "a late RESPONSE must meet an RST";
  EXPECT_EQ(rst->header.src_port, req->header.src_port);
  EXPECT_TRUE(reads_eof(client.get(), 100ms));
  EXPECT_EQ(mux_->connection_count(), 0u);
  // The late answer is refused.
  send(Op::kResponse, req->header.src_port, 1024);
  EXPECT_TRUE(wait_for(Op::kRst, 200ms));
}

TEST_F(VsockMuxer, MalformedSlowOrEndlessHandshakesAreClosed) {
  MuxerConfig config;
  config.handshake_timeout = 100ms;
  make(config);
  UniqueFd bad = unix_connect(uds());
  write_all(bad.get(), "HELLO 1\n");
  UniqueFd endless = unix_connect(uds());
  write_all(endless.get(), std::string(100, '1'));
  UniqueFd silent = unix_connect(uds());
  write_all(silent.get(), "CONNECT 1");  // no newline ever
  for (int i = 0; i < 30; ++i) pump(10ms);
  EXPECT_TRUE(reads_eof(bad.get(), 100ms));
  EXPECT_TRUE(reads_eof(endless.get(), 100ms));
  EXPECT_TRUE(reads_eof(silent.get(), 100ms));
  EXPECT_EQ(mux_->handshake_count(), 0u);
  EXPECT_TRUE(drain().empty()) << "nothing reaches the guest";
}

TEST_F(VsockMuxer, GuestConnectsToTheListenerAtUdsUnderscorePort) {
  make();
  UniqueFd listener = unix_listen(dir_ / "v.sock_5000");
  send(Op::kRequest, 5000, 40000);
  auto resp = wait_for(Op::kResponse);
  ASSERT_TRUE(resp);
  EXPECT_EQ(resp->header.src_port, 5000u);
  EXPECT_EQ(resp->header.dst_port, 40000u);
  UniqueFd server(::accept(listener.get(), nullptr, nullptr));
  ASSERT_TRUE(server);
  send(Op::kRw, 5000, 40000, "from guest");
  EXPECT_EQ(read_some(server.get(), 10), "from guest");
  write_all(server.get(), "from host");
  auto rw = wait_for(Op::kRw);
  ASSERT_TRUE(rw);
  EXPECT_EQ(rw->payload, "from host");
}

TEST_F(VsockMuxer, GuestConnectToNothingGetsRst) {
  make();
  send(Op::kRequest, 5001, 40000);
  auto rst = wait_for(Op::kRst);
  ASSERT_TRUE(rst);
  EXPECT_EQ(rst->header.src_port, 5001u);
  EXPECT_EQ(rst->header.dst_port, 40000u);
  EXPECT_EQ(mux_->connection_count(), 0u);
}

TEST_F(VsockMuxer, UnknownStreamsGetRstButRstGetsNothing) {
  make();
  send(Op::kRw, 1, 2, "x");
  send(Op::kShutdown, 1, 2, {}, kShutdownBoth);
  send(Op::kRst, 1, 2);
  const auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].op(), Op::kRst);
  EXPECT_EQ(out[1].op(), Op::kRst);
}

TEST_F(VsockMuxer, NeverSendsTheGuestMoreThanItsCredit) {
  make();
  UniqueFd listener = unix_listen(dir_ / "v.sock_6000");
  send(Op::kRequest, 6000, 41000, {}, 0, /*buf_alloc=*/10000);
  ASSERT_TRUE(wait_for(Op::kResponse));
  UniqueFd server(::accept(listener.get(), nullptr, nullptr));
  write_all(server.get(), std::string(50000, 'a'));
  size_t got = 0;
  for (int i = 0; i < 20; ++i) {
    pump(10ms);
    for (auto& p : drain())
      if (p.op() == Op::kRw) got += p.payload.size();
  }
  EXPECT_EQ(got, 10000u);
  // The guest's reader consumed 6000: exactly that much more may come.
  send(Op::kCreditUpdate, 6000, 41000, {}, 0, 10000, 6000);
  for (int i = 0; i < 20; ++i) {
    pump(10ms);
    for (auto& p : drain())
      if (p.op() == Op::kRw) got += p.payload.size();
  }
  EXPECT_EQ(got, 16000u);
}

TEST_F(VsockMuxer, OutOfCreditAsksTheGuestOnce) {
  make();
  auto [client, local] = host_connect(1024);
  send(Op::kCreditUpdate, local, 1024, {}, 0, /*buf_alloc=*/100, 0);
  write_all(client.get(), std::string(300, 'b'));
  size_t requests = 0, got = 0;
  for (int i = 0; i < 20; ++i) {
    pump(10ms);
    for (auto& p : drain()) {
      if (p.op() == Op::kCreditRequest) ++requests;
      if (p.op() == Op::kRw) got += p.payload.size();
    }
  }
  EXPECT_EQ(got, 100u);
  EXPECT_EQ(requests, 1u);
}

// The guest may fill our whole advertised buffer even while the host client is not reading;
// the muxer holds it (a Unix socket's send buffer takes less) and, as the client reads, tells
// the guest its credit is back.
TEST_F(VsockMuxer, GuestDataWithinCreditIsHeldThenCreditFlowsBack) {
  make();
  auto [client, local] = host_connect(1024);
  const uint32_t buf_alloc = 256 * 1024;
  std::string data;
  for (int i = 0; i < 64; ++i) {
    std::string chunk(4096, static_cast<char>('a' + i % 26));
    send(Op::kRw, local, 1024, chunk);
    data += chunk;
  }
  ASSERT_EQ(data.size(), buf_alloc);
  pump();
  EXPECT_EQ(mux_->connection_count(), 1u) << "within credit: held, not reset";
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (got.size() < data.size() && std::chrono::steady_clock::now() < deadline) {
    pump(5ms);
    got += read_some(client.get(), data.size() - got.size(), 10ms);
  }
  EXPECT_EQ(got, data);
  uint32_t advertised = 0;
  while (auto upd = wait_for(Op::kCreditUpdate, 200ms)) advertised = upd->header.fwd_cnt;
  EXPECT_EQ(advertised, buf_alloc) << "the guest learns everything was consumed";
}

TEST_F(VsockMuxer, GuestOverrunningCreditIsReset) {
  MuxerConfig config;
  config.buf_alloc = 8192;
  make(config);
  auto [client, local] = host_connect(1024);
  // The client never reads: once its socket is full, 8 KiB more is all the guest may send.
  for (int i = 0; i < 256 && mux_->connection_count() == 1; ++i)
    send(Op::kRw, local, 1024, std::string(4096, 'd'));
  EXPECT_EQ(mux_->connection_count(), 0u);
  EXPECT_TRUE(wait_for(Op::kRst));
  EXPECT_EQ(mux_->stats().bad_packets, 1u);
}

TEST_F(VsockMuxer, HalfCloseEachWayThenRstEndsTheStream) {
  make();
  auto [client, local] = host_connect(1024);
  ::shutdown(client.get(), SHUT_WR);
  auto shut = wait_for(Op::kShutdown);
  ASSERT_TRUE(shut);
  EXPECT_EQ(shut->header.flags, kShutdownSend);
  // The guest may still send after the host's half-close.
  send(Op::kRw, local, 1024, "still");
  EXPECT_EQ(read_some(client.get(), 5), "still");
  send(Op::kShutdown, local, 1024, {}, kShutdownSend);
  EXPECT_TRUE(reads_eof(client.get()));
  EXPECT_TRUE(wait_for(Op::kRst));
  EXPECT_EQ(mux_->connection_count(), 0u);
}

TEST_F(VsockMuxer, GuestCloseFlushesHeldDataFirst) {
  make();
  auto [client, local] = host_connect(1024);
  // 256 KiB (our whole advertised buffer) is more than a Unix socket's send buffer holds.
  std::string data;
  for (int i = 0; i < 64; ++i) {
    std::string chunk(4096, static_cast<char>('A' + i % 26));
    send(Op::kRw, local, 1024, chunk);
    data += chunk;
  }
  send(Op::kShutdown, local, 1024, {}, kShutdownBoth);
  EXPECT_EQ(mux_->connection_count(), 1u) << "held bytes keep the stream until written";
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (got.size() < data.size() && std::chrono::steady_clock::now() < deadline) {
    pump(5ms);
    got += read_some(client.get(), data.size() - got.size(), 10ms);
  }
  EXPECT_EQ(got, data);
  EXPECT_TRUE(reads_eof(client.get()));
  EXPECT_TRUE(wait_for(Op::kRst));
  EXPECT_EQ(mux_->connection_count(), 0u);
}

TEST_F(VsockMuxer, HostClientVanishingTellsTheGuest) {
  make();
  auto [client, local] = host_connect(1024);
  write_all(client.get(), "last words");
  client.reset();
  auto rw = wait_for(Op::kRw);
  ASSERT_TRUE(rw);
  EXPECT_EQ(rw->payload, "last words");
  auto shut = wait_for(Op::kShutdown);
  ASSERT_TRUE(shut);
  EXPECT_EQ(shut->header.flags, kShutdownBoth);
  // Data the guest sends now has nowhere to go.
  send(Op::kRw, local, 1024, "into the void");
  EXPECT_TRUE(wait_for(Op::kRst));
  EXPECT_EQ(mux_->connection_count(), 0u);
}

TEST_F(VsockMuxer, DeviceResetClosesEveryHostSocket) {
  make();
  auto a = host_connect(1);
  auto b = host_connect(2);
  UniqueFd pending = unix_connect(uds());
  pump();
  mux_->reset();
  EXPECT_TRUE(reads_eof(a.first.get()));
  EXPECT_TRUE(reads_eof(b.first.get()));
  EXPECT_TRUE(reads_eof(pending.get()));
  EXPECT_EQ(mux_->connection_count(), 0u);
  EXPECT_FALSE(mux_->has_rx());
}

TEST_F(VsockMuxer, ConnectionLimitRefusesBeyondIt) {
  MuxerConfig config;
  config.max_connections = 2;
  make(config);
  auto a = host_connect(1);
  auto b = host_connect(2);
  UniqueFd third = unix_connect(uds());
  pump();
  EXPECT_TRUE(reads_eof(third.get(), 500ms));
  send(Op::kRequest, 9, 9);
  EXPECT_TRUE(wait_for(Op::kRst));
}

// Many streams at once, both directions, checked byte for byte; no descriptor survives.
TEST_F(VsockMuxer, HundredConcurrentStreamsKeepTheirBytesApart) {
  make();
  constexpr int kStreams = 100;
  constexpr size_t kBytes = 20000;
  std::vector<UniqueFd> clients;
  std::vector<uint32_t> locals;
  for (int i = 0; i < kStreams; ++i) {
    auto [fd, local] = host_connect(2000 + i);
    ASSERT_TRUE(fd);
    clients.push_back(std::move(fd));
    locals.push_back(local);
  }
  auto pattern = [](int stream, size_t i) {
    return static_cast<char>('a' + (stream * 7 + i) % 26);
  };
  for (int s = 0; s < kStreams; ++s) {
    std::string data(kBytes, 0);
    for (size_t i = 0; i < kBytes; ++i) data[i] = pattern(s, i);
    write_all(clients[s].get(), data);
    ::shutdown(clients[s].get(), SHUT_WR);
  }
  std::vector<std::string> received(kStreams);
  int eofs = 0;
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (eofs < kStreams && std::chrono::steady_clock::now() < deadline) {
    pump(10ms);
    for (auto& p : drain(4096)) {
      const int s = static_cast<int>(p.header.dst_port) - 2000;
      ASSERT_GE(s, 0);
      ASSERT_LT(s, kStreams);
      if (p.op() == Op::kRw) {
        received[s] += p.payload;
        // A guest reader that consumes at once, so credit keeps flowing.
        send(Op::kCreditUpdate, locals[s], 2000 + s, {}, 0, 262144,
             static_cast<uint32_t>(received[s].size()));
      }
      if (p.op() == Op::kShutdown) ++eofs;
    }
  }
  ASSERT_EQ(eofs, kStreams);
  for (int s = 0; s < kStreams; ++s) {
    ASSERT_EQ(received[s].size(), kBytes) << s;
    for (size_t i = 0; i < kBytes; ++i) ASSERT_EQ(received[s][i], pattern(s, i)) << s << " " << i;
    send(Op::kShutdown, locals[s], 2000 + s, {}, kShutdownSend);
  }
  for (auto& c : clients) EXPECT_TRUE(reads_eof(c.get()));
  EXPECT_EQ(mux_->connection_count(), 0u);
}

TEST_F(VsockMuxer, StaleSocketFileIsReplacedButNotOtherFiles) {
  { UniqueFd stale = unix_listen(uds()); }
  make();
  mux_.reset();
  EXPECT_FALSE(fs::exists(uds())) << "the muxer removes its socket";
  { std::ofstream(uds()) << "x"; }
  EXPECT_THROW(make(), Error);
}

}  // namespace
}  // namespace kvrun::vmm::vsock
