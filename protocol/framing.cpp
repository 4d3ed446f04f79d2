#include "protocol/framing.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.h"

namespace kvrun::protocol {
namespace {

std::uint32_t decode_length(std::string_view header) {
  auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(header[i]));
  };
  return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

void check_length(std::uint32_t length, std::size_t max_frame_size) {
  if (length > max_frame_size) {
    throw Error("frame of " + std::to_string(length) + " bytes exceeds the maximum of " +
                std::to_string(max_frame_size));
  }
}

// Reads exactly size bytes; returns the count read before EOF.
std::size_t read_full(int fd, char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("read frame");
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace

std::string encode_frame(std::string_view body) {
  check_length(body.size() > UINT32_MAX ? UINT32_MAX : static_cast<std::uint32_t>(body.size()),
               kMaxFrameSize);
  auto length = static_cast<std::uint32_t>(body.size());
  std::string frame;
  frame.reserve(kFrameHeaderSize + body.size());
  frame.push_back(static_cast<char>(length >> 24));
  frame.push_back(static_cast<char>(length >> 16));
  frame.push_back(static_cast<char>(length >> 8));
  frame.push_back(static_cast<char>(length));
  frame.append(body);
  return frame;
}

void FrameDecoder::feed(std::string_view bytes) {
  buffer_.append(bytes);
  check_header();
}

void FrameDecoder::check_header() const {
  if (buffer_.size() >= kFrameHeaderSize) check_length(decode_length(buffer_), max_frame_size_);
}

std::optional<std::string> FrameDecoder::next() {
  if (buffer_.size() < kFrameHeaderSize) return std::nullopt;
  std::size_t length = decode_length(buffer_);
  if (buffer_.size() < kFrameHeaderSize + length) return std::nullopt;
  std::string body = buffer_.substr(kFrameHeaderSize, length);
  buffer_.erase(0, kFrameHeaderSize + length);
  check_header();
  return body;
}

void write_frame(int fd, std::string_view body) {
  std::string frame = encode_frame(body);
  std::size_t done = 0;
  while (done < frame.size()) {
    ssize_t n = ::send(fd, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) n = ::write(fd, frame.data() + done, frame.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("write frame");
    done += static_cast<std::size_t>(n);
  }
}

std::optional<std::string> read_frame(int fd, std::size_t max_frame_size) {
  char header[kFrameHeaderSize];
  std::size_t got = read_full(fd, header, sizeof header);
  if (got == 0) return std::nullopt;
  if (got < sizeof header) throw Error("read frame: connection closed inside a frame header");
  std::uint32_t length = decode_length(std::string_view(header, sizeof header));
  check_length(length, max_frame_size);
  std::string body(length, '\0');
  if (read_full(fd, body.data(), length) < length) {
    throw Error("read frame: connection closed inside a frame body");
  }
  return body;
}

}  // namespace kvrun::protocol
