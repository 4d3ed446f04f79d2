#include "protocol/framing.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::protocol {
namespace {

TEST(Framing, HeaderIsBigEndianLength) {
  std::string frame = encode_frame("abc");
  ASSERT_EQ(frame.size(), 7u);
  EXPECT_EQ(frame.substr(0, 4), std::string("\0\0\0\3", 4));
  EXPECT_EQ(frame.substr(4), "abc");
}

TEST(Framing, DecoderReassemblesFramesFedByteByByte) {
  std::string stream = encode_frame("{\"a\":1}") + encode_frame("") + encode_frame("xyz");
  FrameDecoder decoder;
  std::vector<std::string> frames;
  for (char c : stream) {
    decoder.feed(std::string_view(&c, 1));
    while (auto f = decoder.next()) frames.push_back(*f);
  }
  EXPECT_EQ(frames, (std::vector<std::string>{"{\"a\":1}", "", "xyz"}));
  EXPECT_TRUE(decoder.idle());
}

TEST(Framing, OversizedHeaderIsRejectedBeforeTheBodyArrives) {
  FrameDecoder decoder(1024);
  std::string header("\0\0\x04\x01", 4);  // 1025 bytes announced, none sent
  EXPECT_THROW(decoder.feed(header), Error);
}

TEST(Framing, DefaultMaximumIsFourMebibytes) {
  FrameDecoder decoder;
  EXPECT_NO_THROW(decoder.feed(std::string("\x00\x40\x00\x00", 4)));
  FrameDecoder too_big;
  EXPECT_THROW(too_big.feed(std::string("\x00\x40\x00\x01", 4)), Error);
  EXPECT_THROW(encode_frame(std::string(kMaxFrameSize + 1, 'x')), Error);
}

TEST(Framing, BlockingReadAndWriteOverASocket) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  write_frame(a.get(), "hello");
  EXPECT_EQ(read_frame(b.get()), "hello");
  a.reset();
  EXPECT_EQ(read_frame(b.get()), std::nullopt);  // clean EOF between frames
}

TEST(Framing, TruncatedFrameIsAnError) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  UniqueFd a(fds[0]), b(fds[1]);
  std::string frame = encode_frame("hello").substr(0, 6);
  ASSERT_EQ(::write(a.get(), frame.data(), frame.size()), 6);
  a.reset();
  EXPECT_THROW(read_frame(b.get()), Error);
}

}  // namespace
}  // namespace kvrun::protocol
