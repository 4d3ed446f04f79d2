// ttrpc framing: what a peer sends is untrusted, so every malformed frame must be refused with
// an error before anything is allocated for it or acted on.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "common/error.h"
#include "common/unique_fd.h"
#include "shim/containerd/ttrpc/frame.h"

namespace kvrun::containerd::ttrpc {
namespace {

struct SocketPair {
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    a = UniqueFd(fds[0]);
    b = UniqueFd(fds[1]);
  }
  void send_raw(const std::string& bytes) {
    ASSERT_EQ(::write(a.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  UniqueFd a, b;
};

std::string header_bytes(std::uint32_t length, std::uint32_t stream, std::uint8_t type) {
  auto h = encode_header({length, stream, type, 0});
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

TEST(TtrpcFrame, HeaderIsBigEndianLengthStreamTypeFlags) {
  auto bytes = encode_header({0x01020304, 0x0a0b0c0d, 2, 0x7f});
  const std::uint8_t expected[] = {1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 2, 0x7f};
  EXPECT_TRUE(std::equal(bytes.begin(), bytes.end(), std::begin(expected)));
  FrameHeader back = decode_header(bytes);
  EXPECT_EQ(back.length, 0x01020304u);
  EXPECT_EQ(back.stream_id, 0x0a0b0c0du);
  EXPECT_EQ(back.type, 2);
  EXPECT_EQ(back.flags, 0x7f);
}

TEST(TtrpcFrame, RoundTripThroughASocket) {
  SocketPair pair;
  write_frame(pair.a.get(), 7, MessageType::kRequest, "payload");
  write_frame(pair.a.get(), 9, MessageType::kResponse, "");
  auto first = read_frame(pair.b.get());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->stream_id, 7u);
  EXPECT_EQ(first->type, MessageType::kRequest);
  EXPECT_EQ(first->payload, "payload");
  auto second = read_frame(pair.b.get());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->type, MessageType::kResponse);
  EXPECT_EQ(second->payload, "");
  pair.a.reset();
  EXPECT_FALSE(read_frame(pair.b.get()));  // closed between frames: a clean end
}

TEST(TtrpcFrame, OversizedLengthIsRefusedBeforeReadingThePayload) {
  SocketPair pair;
  pair.send_raw(header_bytes(kMaxMessageSize + 1, 1, 1));
  try {
    read_frame(pair.b.get());
    FAIL() << "oversized frame accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exceeds the maximum"), std::string::npos) << e.what();
  }
  // The largest length ttrpc allows is accepted by the header check.
  EXPECT_EQ(validate_header({kMaxMessageSize, 1, 1, 0}), MessageType::kRequest);
  EXPECT_THROW(validate_header({0xffffffffu, 1, 1, 0}), Error);
}

TEST(TtrpcFrame, UnknownTypeIsRefused) {
  for (std::uint8_t type : {0, 3, 0xff}) {
    SocketPair pair;
    pair.send_raw(header_bytes(0, 1, type));
    EXPECT_THROW(read_frame(pair.b.get()), Error) << "type " << int(type);
  }
}

TEST(TtrpcFrame, TruncatedHeaderIsAnError) {
  SocketPair pair;
  pair.send_raw(header_bytes(4, 1, 1).substr(0, 6));
  pair.a.reset();
  EXPECT_THROW(read_frame(pair.b.get()), Error);
}

TEST(TtrpcFrame, TruncatedPayloadIsAnError) {
  SocketPair pair;
  pair.send_raw(header_bytes(100, 1, 1) + std::string(40, 'x'));
  pair.a.reset();
  try {
    read_frame(pair.b.get());
    FAIL() << "truncated frame accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("inside a 100-byte message"), std::string::npos)
        << e.what();
  }
}

TEST(TtrpcFrame, OversizedReplyIsNotWritten) {
  SocketPair pair;
  EXPECT_THROW(
      write_frame(pair.a.get(), 1, MessageType::kResponse, std::string(kMaxMessageSize + 1, 'x')),
      Error);
}

}  // namespace
}  // namespace kvrun::containerd::ttrpc
