// Frames on every agent connection: a 4-byte big-endian body length, then that many bytes of
// JSON. The length is checked against a maximum before any buffer for the body is allocated,
// because the peer is untrusted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/deadline_io.h"

namespace kvrun::protocol {

inline constexpr std::size_t kFrameHeaderSize = 4;
inline constexpr std::size_t kMaxFrameSize = 4 * 1024 * 1024;

// Header + body. Throws Error if body is larger than kMaxFrameSize.
std::string encode_frame(std::string_view body);

// Incremental decoder for non-blocking readers: feed whatever bytes arrived, then pop frames.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::size_t max_frame_size = kMaxFrameSize)
      : max_frame_size_(max_frame_size) {}

  // Throws Error as soon as a header announces a body larger than the maximum; the stream
  // cannot be resynchronised after that, so the caller should drop the connection.
  void feed(std::string_view bytes);
  std::optional<std::string> next();
  // True when no partial frame is buffered.
  bool idle() const { return buffer_.empty(); }

 private:
  void check_header() const;

  std::size_t max_frame_size_;
  std::string buffer_;
};

// Blocking helpers for clients and tests. write_frame handles short writes and EINTR.
void write_frame(int fd, std::string_view body);
// Returns nullopt on EOF before the first header byte; throws Error on a truncated or oversized
// frame. An oversized length is refused from the header alone: nothing is allocated for it.
std::optional<std::string> read_frame(int fd, std::size_t max_frame_size = kMaxFrameSize);

// The same by a deadline, for a peer that may stall (a guest's agent): TimeoutError when the
// frame is not wholly written or read by then. fd must be a socket.
void write_frame(int fd, std::string_view body, const Deadline& deadline);
std::optional<std::string> read_frame(int fd, const Deadline& deadline,
                                      std::size_t max_frame_size = kMaxFrameSize);

}  // namespace kvrun::protocol
