// A NETLINK_ROUTE socket and the two things the agent does with it: a request the kernel
// acknowledges (or refuses with an errno), and a dump. Replies are untrusted bytes: every
// header and attribute length is checked against what was received before it is read.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/unique_fd.h"

namespace kvrun::agent::net {

// A refusal by the kernel: errno and, when the kernel said more (extended ack), its message.
class NetlinkError : public Error {
 public:
  NetlinkError(int error, const std::string& message) : Error(message), error_(error) {}
  int error() const { return error_; }

 private:
  int error_;
};

// One request under construction: header, a fixed struct (ifinfomsg, ifaddrmsg, rtmsg), then
// attributes.
class NetlinkMessage {
 public:
  // flags beyond NLM_F_REQUEST, e.g. NLM_F_CREATE | NLM_F_EXCL or NLM_F_DUMP.
  NetlinkMessage(std::uint16_t type, std::uint16_t flags);

  template <typename T>
  void put_struct(const T& value) {
    append(&value, sizeof value);
  }
  void put_attribute(std::uint16_t type, std::span<const std::uint8_t> payload);
  void put_u32(std::uint16_t type, std::uint32_t value);
  void put_string(std::uint16_t type, std::string_view value);  // with its terminating NUL

  void add_flags(std::uint16_t flags);
  // The finished message with nlmsg_len and nlmsg_seq filled in.
  std::span<const std::uint8_t> finish(std::uint32_t sequence);

 private:
  void append(const void* data, std::size_t size);
  std::vector<std::uint8_t> buffer_;
};

// Attributes (struct rtattr / nlattr, same layout) of a reply, after its fixed struct.
class AttributeReader {
 public:
  explicit AttributeReader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  // Calls visit(type, payload) for each well-formed attribute; stops at the first one whose
  // length does not fit (a truncated or hostile reply yields fewer attributes, never a read
  // past the end).
  void for_each(
      const std::function<void(std::uint16_t, std::span<const std::uint8_t>)>& visit) const;

 private:
  std::span<const std::uint8_t> bytes_;
};

class NetlinkSocket {
 public:
  // In the calling thread's network namespace.
  static NetlinkSocket open();
  // In the network namespace `netns_fd` (the calling thread moves there and back: a netlink
  // socket belongs to the namespace it was created in).
  static NetlinkSocket open_in(int netns_fd);

  // Sends message with NLM_F_ACK and waits for the acknowledgement. Throws NetlinkError with
  // the kernel's errno text (and its extended message, if any); Error on a malformed reply.
  void request(NetlinkMessage& message);
  // Sends a dump request and calls visit(type, payload) for each reply message up to
  // NLMSG_DONE; payload is everything after the netlink header, length unchecked.
  void dump(NetlinkMessage& message,
            const std::function<void(std::uint16_t, std::span<const std::uint8_t>)>& visit);

 private:
  explicit NetlinkSocket(UniqueFd fd) : fd_(std::move(fd)) {}
  void send(NetlinkMessage& message);
  // Receives one datagram into buffer_; returns its bytes.
  std::span<const std::uint8_t> receive();

  UniqueFd fd_;
  std::uint32_t sequence_ = 0;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace kvrun::agent::net
