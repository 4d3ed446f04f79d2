#include "protocol/framing.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/deadline_io.h"
#include "common/error.h"
#include "common/full_io.h"

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

// read(data, size) reads up to size bytes, fewer only at the end of the stream.
template <typename Read>
std::optional<std::string> read_frame_by(std::size_t max_frame_size, Read read) {
  char header[kFrameHeaderSize];
  std::size_t got = read(header, sizeof header);
  if (got == 0) return std::nullopt;
  if (got < sizeof header) throw Error("read frame: connection closed inside a frame header");
  std::uint32_t length = decode_length(std::string_view(header, sizeof header));
  check_length(length, max_frame_size);
  std::string body(length, '\0');
  if (read(body.data(), length) < length) {
    throw Error("read frame: connection closed inside a frame body");
  }
  return body;
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
  write_all(fd, encode_frame(body), "write frame");
}

void write_frame(int fd, std::string_view body, const Deadline& deadline) {
  write_all(fd, encode_frame(body), deadline, "write frame");
}

std::optional<std::string> read_frame(int fd, std::size_t max_frame_size) {
  return read_frame_by(max_frame_size, [fd](char* data, std::size_t size) {
    return read_full(fd, data, size, "read frame");
  });
}

std::optional<std::string> read_frame(int fd, const Deadline& deadline,
                                      std::size_t max_frame_size) {
  return read_frame_by(max_frame_size, [fd, &deadline](char* data, std::size_t size) {
    return read_full(fd, data, size, deadline, "read frame");
  });
}

}  // namespace kvrun::protocol
