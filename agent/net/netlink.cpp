#include "agent/net/netlink.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kvrun::agent::net {
namespace {

// Large enough for any single reply datagram the kernel sends for links, addresses and routes
// (it sizes dump datagrams to at most 32 KiB).
constexpr std::size_t kReceiveBuffer = 64 * 1024;
// The agent serves everything from one thread: a kernel that never answers must not hang it.
constexpr int kReplyTimeoutSeconds = 10;

std::size_t align(std::size_t length) {
  return (length + NLMSG_ALIGNTO - 1) & ~(NLMSG_ALIGNTO - 1);
}

template <typename T>
T read_struct(std::span<const std::uint8_t> bytes) {
  T value;
  std::memcpy(&value, bytes.data(), sizeof value);
  return value;
}

// The datagram's messages, each with its header length checked against the datagram.
void for_each_message(
    std::span<const std::uint8_t> datagram,
    const std::function<void(const nlmsghdr&, std::span<const std::uint8_t>)>& visit) {
  while (datagram.size() >= sizeof(nlmsghdr)) {
    auto header = read_struct<nlmsghdr>(datagram);
    if (header.nlmsg_len < sizeof(nlmsghdr) || header.nlmsg_len > datagram.size()) {
      throw Error("netlink: malformed reply (message length " + std::to_string(header.nlmsg_len) +
                  " in a datagram of " + std::to_string(datagram.size()) + " bytes)");
    }
    visit(header, datagram.subspan(sizeof(nlmsghdr), header.nlmsg_len - sizeof(nlmsghdr)));
    std::size_t next = std::min(align(header.nlmsg_len), datagram.size());
    datagram = datagram.subspan(next);
  }
}

// NLMSG_ERROR's payload: 0 for an acknowledgement, else throws NetlinkError.
void check_error_message(const nlmsghdr& header, std::span<const std::uint8_t> payload) {
  if (payload.size() < sizeof(nlmsgerr)) throw Error("netlink: truncated error message");
  auto error = read_struct<nlmsgerr>(payload);
  if (error.error == 0) return;
  int err = -error.error;
  std::string text = std::strerror(err);
  // With NETLINK_CAP_ACK the request is not echoed, so the extended-ack attributes follow the
  // error struct directly.
  if (header.nlmsg_flags & NLM_F_ACK_TLVS) {
    AttributeReader(payload.subspan(sizeof(nlmsgerr)))
        .for_each([&](std::uint16_t type, std::span<const std::uint8_t> value) {
          if (type != NLMSGERR_ATTR_MSG || value.empty()) return;
          std::string message(reinterpret_cast<const char*>(value.data()), value.size());
          message.resize(std::strlen(message.c_str()));  // up to the first NUL
          if (!message.empty()) text += " (" + message + ")";
        });
  }
  throw NetlinkError(err, text);
}

}  // namespace

NetlinkMessage::NetlinkMessage(std::uint16_t type, std::uint16_t flags) {
  nlmsghdr header{};
  header.nlmsg_type = type;
  header.nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
  append(&header, sizeof header);
}

void NetlinkMessage::append(const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  buffer_.insert(buffer_.end(), bytes, bytes + size);
  buffer_.resize(align(buffer_.size()), 0);
}

void NetlinkMessage::put_attribute(std::uint16_t type, std::span<const std::uint8_t> payload) {
  nlattr attribute{};
  attribute.nla_len = static_cast<std::uint16_t>(NLA_HDRLEN + payload.size());
  attribute.nla_type = type;
  buffer_.insert(buffer_.end(), reinterpret_cast<const std::uint8_t*>(&attribute),
                 reinterpret_cast<const std::uint8_t*>(&attribute) + sizeof attribute);
  append(payload.data(), payload.size());
}

void NetlinkMessage::put_u32(std::uint16_t type, std::uint32_t value) {
  put_attribute(type, {reinterpret_cast<const std::uint8_t*>(&value), sizeof value});
}

void NetlinkMessage::put_string(std::uint16_t type, std::string_view value) {
  std::vector<std::uint8_t> bytes(value.begin(), value.end());
  bytes.push_back(0);
  put_attribute(type, bytes);
}

void NetlinkMessage::add_flags(std::uint16_t flags) {
  auto header = read_struct<nlmsghdr>(buffer_);
  header.nlmsg_flags = static_cast<std::uint16_t>(header.nlmsg_flags | flags);
  std::memcpy(buffer_.data(), &header, sizeof header);
}

std::span<const std::uint8_t> NetlinkMessage::finish(std::uint32_t sequence) {
  auto header = read_struct<nlmsghdr>(buffer_);
  header.nlmsg_len = static_cast<std::uint32_t>(buffer_.size());
  header.nlmsg_seq = sequence;
  std::memcpy(buffer_.data(), &header, sizeof header);
  return buffer_;
}

void AttributeReader::for_each(
    const std::function<void(std::uint16_t, std::span<const std::uint8_t>)>& visit) const {
  auto rest = bytes_;
  while (rest.size() >= sizeof(nlattr)) {
    auto attribute = read_struct<nlattr>(rest);
    if (attribute.nla_len < sizeof(nlattr) || attribute.nla_len > rest.size()) return;
    visit(static_cast<std::uint16_t>(attribute.nla_type & NLA_TYPE_MASK),
          rest.subspan(sizeof(nlattr), attribute.nla_len - sizeof(nlattr)));
    rest = rest.subspan(std::min(align(attribute.nla_len), rest.size()));
  }
}

NetlinkSocket NetlinkSocket::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) throw_errno("netlink socket");
  int one = 1;
  // Best effort: the kernel's own words for a refusal, and no echo of our request in errors.
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  timeval timeout{kReplyTimeoutSeconds, 0};
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0) {
    throw_errno("netlink socket timeout");
  }
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    throw_errno("bind the netlink socket");
  }
  return NetlinkSocket(std::move(fd));
}

NetlinkSocket NetlinkSocket::open_in(int netns_fd) {
  UniqueFd own(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!own) throw_errno("open /proc/thread-self/ns/net");
  if (::setns(netns_fd, CLONE_NEWNET) != 0) throw_errno("enter the network namespace");
  struct Return {
    int fd;
    ~Return() {
      // Staying in the other namespace would misplace everything this thread does next.
      if (::setns(fd, CLONE_NEWNET) != 0) std::abort();
    }
  } back{own.get()};
  return open();
}

void NetlinkSocket::send(NetlinkMessage& message) {
  auto bytes = message.finish(++sequence_);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n;
  do {
    n = ::sendto(fd_.get(), bytes.data(), bytes.size(), 0, reinterpret_cast<sockaddr*>(&kernel),
                 sizeof kernel);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_errno("netlink send");
  if (static_cast<std::size_t>(n) != bytes.size()) throw Error("netlink: short send");
}

std::span<const std::uint8_t> NetlinkSocket::receive() {
  buffer_.resize(kReceiveBuffer);
  sockaddr_nl from{};
  socklen_t from_length = sizeof from;
  ssize_t n;
  do {
    n = ::recvfrom(fd_.get(), buffer_.data(), buffer_.size(), MSG_TRUNC,
                   reinterpret_cast<sockaddr*>(&from), &from_length);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN) throw Error("netlink: no reply from the kernel");
    throw_errno("netlink receive");
  }
  if (static_cast<std::size_t>(n) > buffer_.size()) throw Error("netlink: reply too large");
  if (from.nl_pid != 0) throw Error("netlink: reply not from the kernel");
  return std::span<const std::uint8_t>(buffer_).first(static_cast<std::size_t>(n));
}

void NetlinkSocket::request(NetlinkMessage& message) {
  message.add_flags(NLM_F_ACK);
  send(message);
  bool done = false;
  while (!done) {
    for_each_message(receive(), [&](const nlmsghdr& reply, std::span<const std::uint8_t> payload) {
      if (done || reply.nlmsg_seq != sequence_) return;  // stale: not ours
      if (reply.nlmsg_type == NLMSG_ERROR) {
        done = true;
        check_error_message(reply, payload);
      }
    });
  }
}

void NetlinkSocket::dump(
    NetlinkMessage& message,
    const std::function<void(std::uint16_t, std::span<const std::uint8_t>)>& visit) {
  send(message);
  bool done = false;
  while (!done) {
    for_each_message(receive(), [&](const nlmsghdr& reply, std::span<const std::uint8_t> payload) {
      if (done || reply.nlmsg_seq != sequence_) return;
      if (reply.nlmsg_type == NLMSG_DONE) {
        done = true;
      } else if (reply.nlmsg_type == NLMSG_ERROR) {
        done = true;
        check_error_message(reply, payload);
      } else {
        visit(reply.nlmsg_type, payload);
      }
    });
  }
}

}  // namespace kvrun::agent::net
