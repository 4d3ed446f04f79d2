// ttrpc framing: a 10-byte header (payload length and stream id as big-endian uint32, message
// type, flags) in front of each protobuf message. Everything read here comes from a socket and
// is checked before use: the length is bounded, the type must be known, a short read is an error.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kvrun::containerd::ttrpc {

inline constexpr std::size_t kHeaderSize = 10;
// ttrpc's own limit on one message (4 MiB); a larger frame is refused before any allocation.
inline constexpr std::uint32_t kMaxMessageSize = 4u << 20;

enum class MessageType : std::uint8_t { kRequest = 1, kResponse = 2 };

struct FrameHeader {
  std::uint32_t length = 0;
  std::uint32_t stream_id = 0;
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
};

struct Frame {
  std::uint32_t stream_id = 0;
  MessageType type = MessageType::kRequest;
  std::string payload;
};

std::array<std::uint8_t, kHeaderSize> encode_header(const FrameHeader& header);
// Parses the bytes as they are; validate_header() decides whether they may be acted on.
FrameHeader decode_header(std::span<const std::uint8_t, kHeaderSize> bytes);
// Throws Error if the length exceeds kMaxMessageSize or the type is neither request nor response.
MessageType validate_header(const FrameHeader& header);

// Reads one whole frame. Returns nullopt when the peer closed the connection between frames;
// throws Error on a bad header, or on end of stream inside a frame.
std::optional<Frame> read_frame(int fd);
// Writes header and payload completely (retrying short writes). Throws Error on failure or if
// the payload exceeds kMaxMessageSize.
void write_frame(int fd, std::uint32_t stream_id, MessageType type, std::string_view payload);

}  // namespace kvrun::containerd::ttrpc
