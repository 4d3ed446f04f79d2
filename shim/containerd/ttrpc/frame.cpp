#include "shim/containerd/ttrpc/frame.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/error.h"
#include "common/full_io.h"

namespace kvrun::containerd::ttrpc {
namespace {

void put_be32(std::uint8_t* out, std::uint32_t value) {
  out[0] = static_cast<std::uint8_t>(value >> 24);
  out[1] = static_cast<std::uint8_t>(value >> 16);
  out[2] = static_cast<std::uint8_t>(value >> 8);
  out[3] = static_cast<std::uint8_t>(value);
}

std::uint32_t get_be32(const std::uint8_t* in) {
  return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) |
         std::uint32_t{in[3]};
}

}  // namespace

std::array<std::uint8_t, kHeaderSize> encode_header(const FrameHeader& header) {
  std::array<std::uint8_t, kHeaderSize> bytes{};
  put_be32(bytes.data(), header.length);
  put_be32(bytes.data() + 4, header.stream_id);
  bytes[8] = header.type;
  bytes[9] = header.flags;
  return bytes;
}

FrameHeader decode_header(std::span<const std::uint8_t, kHeaderSize> bytes) {
  return FrameHeader{.length = get_be32(bytes.data()),
                     .stream_id = get_be32(bytes.data() + 4),
                     .type = bytes[8],
                     .flags = bytes[9]};
}

MessageType validate_header(const FrameHeader& header) {
  if (header.length > kMaxMessageSize) {
    throw Error("ttrpc: message of " + std::to_string(header.length) +
                " bytes exceeds the maximum of " + std::to_string(kMaxMessageSize));
  }
  if (header.type != static_cast<std::uint8_t>(MessageType::kRequest) &&
      header.type != static_cast<std::uint8_t>(MessageType::kResponse)) {
    throw Error("ttrpc: unknown message type " + std::to_string(header.type));
  }
  return static_cast<MessageType>(header.type);
}

std::optional<Frame> read_frame(int fd) {
  std::array<std::uint8_t, kHeaderSize> bytes{};
  std::size_t got =
      read_full(fd, reinterpret_cast<char*>(bytes.data()), bytes.size(), "ttrpc: read");
  if (got == 0) return std::nullopt;
  if (got < bytes.size()) throw Error("ttrpc: connection closed inside a frame header");
  FrameHeader header = decode_header(bytes);
  Frame frame{.stream_id = header.stream_id, .type = validate_header(header), .payload = {}};
  frame.payload.resize(header.length);
  if (read_full(fd, frame.payload.data(), header.length, "ttrpc: read") < header.length) {
    throw Error("ttrpc: connection closed inside a " + std::to_string(header.length) +
                "-byte message");
  }
  return frame;
}

void write_frame(int fd, std::uint32_t stream_id, MessageType type, std::string_view payload) {
  if (payload.size() > kMaxMessageSize) {
    throw Error("ttrpc: reply of " + std::to_string(payload.size()) + " bytes is too large");
  }
  auto header = encode_header(FrameHeader{.length = static_cast<std::uint32_t>(payload.size()),
                                          .stream_id = stream_id,
                                          .type = static_cast<std::uint8_t>(type),
                                          .flags = 0});
  // One buffer, one write: concurrent writers hold the connection's lock anyway, and a reader
  // never sees a header without its payload.
  std::string buffer(reinterpret_cast<const char*>(header.data()), header.size());
  buffer.append(payload);
  write_all(fd, std::string_view(buffer.data(), buffer.size()), "ttrpc: write");
}

}  // namespace kvrun::containerd::ttrpc
