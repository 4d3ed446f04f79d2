// Reads and writes on a socket to an untrusted peer (a guest's agent, a VMM) that end by a
// deadline. SO_RCVTIMEO bounds each read(2) alone, so a peer trickling one byte just inside it
// holds a reader forever; a Deadline bounds the whole exchange, however the bytes arrive.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "common/error.h"

namespace kvrun {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  // `timeout` from now; zero or less is already expired.
  static Deadline after(std::chrono::milliseconds timeout) {
    return Deadline(Clock::now() + timeout, timeout);
  }
  // For waits that end only when the peer answers or goes away (WaitProcess).
  static Deadline never() { return Deadline(Clock::time_point::max(), {}); }

  bool is_never() const { return at_ == Clock::time_point::max(); }
  // What poll(2) takes: -1 for never, else the milliseconds left (rounded up, at least 0).
  int poll_timeout_ms() const;
  // The timeout the deadline was made from, for messages ("within 30000 ms").
  std::chrono::milliseconds timeout() const { return timeout_; }

 private:
  Deadline(Clock::time_point at, std::chrono::milliseconds timeout) : at_(at), timeout_(timeout) {}

  Clock::time_point at_;
  std::chrono::milliseconds timeout_;
};

// The peer did not answer in time: "<context>: no answer within <N> ms".
class TimeoutError : public Error {
 public:
  using Error::Error;
};

// Waits until fd is ready for `events` (POLLIN or POLLOUT; a hang-up or error counts as ready, so
// the next read or write reports it). Throws TimeoutError at the deadline.
void wait_ready(int fd, short events, const Deadline& deadline, const std::string& context);

// Writes all of data by the deadline, never blocking past it: fd must be a socket (sent with
// MSG_DONTWAIT | MSG_NOSIGNAL). Throws TimeoutError, or Error("<context>: <errno text>").
void write_all(int fd, std::string_view data, const Deadline& deadline, const std::string& context);

// Reads until size bytes arrived or the stream ended, by the deadline; returns how many arrived.
// Throws TimeoutError, or Error("<context>: <errno text>").
std::size_t read_full(int fd, char* data, std::size_t size, const Deadline& deadline,
                      const std::string& context);

}  // namespace kvrun
