#include "vmm/devices/virtio/vsock/muxer.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>

#include <algorithm>
#include <cstring>

#include "common/error.h"
#include "vmm/devices/virtio/vsock/connect_line.h"

namespace kvrun::vmm::vsock {
namespace {

bool fill_sockaddr(const std::string& path, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return false;
  std::memcpy(addr.sun_path, path.data(), path.size());
  return true;
}

bool would_block(int err) { return err == EAGAIN || err == EWOULDBLOCK; }

// sendmsg, not writev: MSG_NOSIGNAL keeps a vanished client from raising SIGPIPE.
ssize_t send_parts(int fd, std::vector<iovec>& iov) {
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = std::min<size_t>(iov.size(), IOV_MAX);
  ssize_t n;
  do {
    n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n;
}

}  // namespace

Muxer::Muxer(MuxerConfig config) : config_(std::move(config)) {
  epoll_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_) throw_errno("vsock: epoll_create1");
  timer_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
  if (!timer_) throw_errno("vsock: timerfd_create");

  const std::string path = config_.uds_path.string();
  sockaddr_un addr;
  if (!fill_sockaddr(path, addr)) throw Error("vsock: socket path too long: " + path);
  // A socket left by an earlier run would make bind fail; anything else is not ours to remove.
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) throw Error("vsock: " + path + " exists and is not a socket");
    ::unlink(path.c_str());
  }
  listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!listener_) throw_errno("vsock: socket");
  if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    throw_errno("vsock: bind " + path);
  if (::listen(listener_.get(), SOMAXCONN) != 0) throw_errno("vsock: listen " + path);
  epoll_add(listener_.get(), EPOLLIN);
  epoll_add(timer_.get(), EPOLLIN);
}

Muxer::~Muxer() { ::unlink(config_.uds_path.c_str()); }

void Muxer::epoll_add(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) throw_errno("vsock: epoll_ctl add");
}

void Muxer::process_host_events() {
  epoll_event events[64];
  const int n = ::epoll_wait(epoll_.get(), events, 64, 0);
  if (n < 0) {
    if (errno == EINTR) return;
    throw_errno("vsock: epoll_wait");
  }
  for (int i = 0; i < n; ++i) {
    const int fd = events[i].data.fd;
    if (fd == listener_.get()) {
      accept_clients();
    } else if (fd == timer_.get()) {
      uint64_t expirations;
      (void)!::read(timer_.get(), &expirations, sizeof(expirations));
      expire_timeouts();
    } else if (handshakes_.contains(fd)) {
      read_handshake(fd);
    } else if (auto it = conn_by_fd_.find(fd); it != conn_by_fd_.end()) {
      // An earlier event in this batch may have removed the stream: look it up afresh.
      if (Connection* conn = find(it->second)) on_host_event(*conn, events[i].events);
    }
  }
}

// --- host-initiated streams ---------------------------------------------------------------

void Muxer::accept_clients() {
  for (;;) {
    UniqueFd client(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!client) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (!would_block(errno))
        spdlog::warn("vsock: accept on {}: {}", config_.uds_path.string(), std::strerror(errno));
      return;
    }
    if (conns_.size() + handshakes_.size() >= config_.max_connections) {
      spdlog::warn("vsock: {} streams open, refusing a host client", config_.max_connections);
      continue;  // closing it tells the client
    }
    const int fd = client.get();
    epoll_add(fd, EPOLLIN);
    handshakes_.emplace(fd,
                        Handshake{std::move(client), {}, Clock::now() + config_.handshake_timeout});
    arm_timer();
  }
}

void Muxer::read_handshake(int fd) {
  Handshake& hs = handshakes_.at(fd);
  auto drop = [&] {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    handshakes_.erase(fd);
  };
  // One byte at a time: the line is short, and nothing after '\n' (the client's first stream
  // bytes) may be consumed before the guest has accepted.
  for (;;) {
    char c;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && would_block(errno)) return;
    if (n <= 0) return drop();
    if (c != '\n') {
      hs.line.push_back(c);
      if (hs.line.size() >= kMaxConnectLine) return drop();
      continue;
    }
    const std::optional<uint32_t> port = parse_connect_line(hs.line);
    if (!port) {
      spdlog::debug("vsock: host client sent a malformed CONNECT line");
      return drop();
    }
    UniqueFd client = std::move(hs.fd);
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    handshakes_.erase(fd);
    return start_host_connection(std::move(client), *port);
  }
}

void Muxer::start_host_connection(UniqueFd fd, uint32_t guest_port) {
  const ConnKey key{allocate_local_port(guest_port), guest_port};
  auto conn = std::make_unique<Connection>(key, std::move(fd), config_.buf_alloc);
  conn->deadline = Clock::now() + config_.connect_timeout;
  // No interest yet: the client's bytes wait in its socket until the guest accepts; a hangup
  // is still reported.
  epoll_add(conn->fd.get(), 0);
  conn_by_fd_[conn->fd.get()] = key;
  conns_[key] = std::move(conn);
  queue(key, Op::kRequest);
  arm_timer();
}

uint32_t Muxer::allocate_local_port(uint32_t peer_port) {
  while (conns_.contains({next_local_port_, peer_port})) ++next_local_port_;
  return next_local_port_++;
}

// --- guest-initiated streams --------------------------------------------------------------

void Muxer::connect_to_host(const GuestPacket& packet) {
  const ConnKey key{packet.header.dst_port, packet.header.src_port};
  if (conns_.size() + handshakes_.size() >= config_.max_connections)
    return queue(key, Op::kRst, 0, true);
  const std::string path = config_.uds_path.string() + "_" + std::to_string(key.local_port);
  sockaddr_un addr;
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("vsock: socket");
  // A Unix connect completes at once or fails (EAGAIN: the listener's backlog is full).
  if (!fill_sockaddr(path, addr) ||
      ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    spdlog::debug("vsock: guest port {} -> {}: {}", key.peer_port, path, std::strerror(errno));
    return queue(key, Op::kRst, 0, true);
  }
  auto conn = std::make_unique<Connection>(key, std::move(fd), config_.buf_alloc);
  conn->established = true;
  conn->credit.on_peer_header(packet.header.buf_alloc, packet.header.fwd_cnt);
  epoll_add(conn->fd.get(), 0);
  conn_by_fd_[conn->fd.get()] = key;
  Connection& ref = *conn;
  conns_[key] = std::move(conn);
  queue(key, Op::kResponse);
  update_interest(ref);
}

// --- packets from the guest -----------------------------------------------------------------

void Muxer::on_guest_packet(const GuestPacket& packet) {
  const Header& h = packet.header;
  const ConnKey key{h.dst_port, h.src_port};
  Connection* conn = find(key);
  if (!conn) {
    if (packet.op() == Op::kRequest) return connect_to_host(packet);
    // Anything else for a stream we do not know gets an RST (but an RST never answers one).
    if (packet.op() != Op::kRst) queue(key, Op::kRst, 0, true);
    return;
  }
  conn->credit.on_peer_header(h.buf_alloc, h.fwd_cnt);
  if (conn->credit.peer_free() > 0) conn->credit_request_sent = false;
  if (!conn->established) {
    if (packet.op() == Op::kResponse) {
      conn->established = true;
      const std::string ok = ok_line(key.local_port);
      conn->ok_line_bytes = ok.size();
      const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(ok.data()), ok.size());
      // The ring is empty (no data before RESPONSE) and holds at least an OK line.
      if (!conn->to_host.push(bytes)) return reset_connection(*conn);
      if (!write_to_host(*conn, {})) return;
      update_interest(*conn);
      arm_timer();
    } else if (packet.op() == Op::kRst) {
      remove_connection(*conn);  // the guest refused: the client reads EOF, no OK line
    } else {
      ++stats_.bad_packets;
      reset_connection(*conn);
    }
    return;
  }
  switch (packet.op()) {
    case Op::kRequest:
    case Op::kResponse:
      ++stats_.bad_packets;
      return reset_connection(*conn);
    case Op::kRst:
      return remove_connection(*conn);
    case Op::kRw:
      return on_guest_data(*conn, packet);
    case Op::kShutdown:
      return on_guest_shutdown(*conn, h.flags);
    case Op::kCreditRequest:
      if (!conn->credit_update_queued) {
        conn->credit_update_queued = true;
        queue(key, Op::kCreditUpdate);
      }
      [[fallthrough]];
    case Op::kCreditUpdate:
      // New credit may let us read the host socket again.
      return update_interest(*conn);
  }
}

void Muxer::on_guest_data(Connection& conn, const GuestPacket& packet) {
  const uint32_t len = packet.header.len;
  if (conn.guest_shut_send || !conn.credit.may_receive(len)) {
    // Data after its own SHUTDOWN(SEND), or beyond the credit we gave: the guest is broken or
    // hostile, and holding the bytes would make our buffer unbounded.
    spdlog::debug("vsock: stream {}:{} sent data it may not send", conn.key.peer_port,
                  conn.key.local_port);
    ++stats_.bad_packets;
    return reset_connection(conn);
  }
  conn.credit.on_received(len);
  if (!write_to_host(conn, packet.payload)) return;
  update_interest(conn);
}

void Muxer::on_guest_shutdown(Connection& conn, uint32_t flags) {
  if (flags & kShutdownSend) conn.guest_shut_send = true;
  if (flags & kShutdownRcv) conn.guest_shut_rcv = true;
  const ConnKey key = conn.key;
  finish_if_done(conn);
  if (Connection* still = find(key)) update_interest(*still);
}

// --- host sockets ---------------------------------------------------------------------------

bool Muxer::write_to_host(Connection& conn, virtio::ChainReader extra) {
  const size_t extra_size = extra.available();
  const bool pending = !conn.to_host.empty() || extra_size > 0;
  if (conn.host_hup && pending) {
    reset_connection(conn);  // nobody will ever read it
    return false;
  }
  size_t written = 0;
  if (pending) {
    // Held bytes first, then the new ones straight from guest memory: one sendmsg keeps the
    // order, and whatever the socket takes now is never copied.
    std::vector<iovec> iov;
    for (const auto& part : conn.to_host.front())
      if (!part.empty()) iov.push_back({const_cast<uint8_t*>(part.data()), part.size()});
    extra.append_iovecs(iov);
    const ssize_t n = send_parts(conn.fd.get(), iov);
    if (n < 0 && !would_block(errno)) {
      spdlog::debug("vsock: host socket of port {}: {}", conn.key.local_port, std::strerror(errno));
      reset_connection(conn);
      return false;
    }
    written = n < 0 ? 0 : static_cast<size_t>(n);
  }
  // Account what left, keep what did not.
  const size_t from_queue = std::min(written, conn.to_host.size());
  const size_t ok_part = std::min(from_queue, conn.ok_line_bytes);
  conn.ok_line_bytes -= ok_part;
  conn.to_host.consume(from_queue);
  extra.skip(written - from_queue);
  for (const std::span<const uint8_t> part : extra.parts()) {
    if (!conn.to_host.push(part)) {
      // Only a guest beyond its credit gets here (on_guest_data checks it first): refuse
      // rather than hold more than we advertised.
      spdlog::debug("vsock: stream {}:{} overflowed its buffer", conn.key.peer_port,
                    conn.key.local_port);
      ++stats_.bad_packets;
      reset_connection(conn);
      return false;
    }
  }
  after_forward(conn, written - ok_part);
  finish_if_done(conn);
  return find(conn.key) != nullptr;
}

void Muxer::after_forward(Connection& conn, size_t bytes) {
  if (bytes == 0) return;
  conn.credit.on_forwarded(static_cast<uint32_t>(bytes));
  if (!conn.credit_update_queued && conn.credit.guest_likely_starved()) {
    conn.credit_update_queued = true;
    queue(conn.key, Op::kCreditUpdate);
  }
}

void Muxer::finish_if_done(Connection& conn) {
  if (!conn.to_host.empty()) return;
  if (conn.guest_shut_send && !conn.host_wr_shut && !conn.host_hup) {
    ::shutdown(conn.fd.get(), SHUT_WR);  // the client reads EOF
    conn.host_wr_shut = true;
  }
  // Both directions are over: close the stream; the RST completes the guest's close().
  const bool guest_done = conn.guest_shut_send && conn.guest_shut_rcv;
  const bool both_sent_eof = conn.guest_shut_send && conn.host_eof;
  if (guest_done || both_sent_eof) reset_connection(conn);
}

bool Muxer::may_read_host(const Connection& conn) const {
  return conn.established && !conn.host_eof && !conn.guest_shut_rcv && conn.credit.peer_free() > 0;
}

void Muxer::update_interest(Connection& conn) {
  if (conn.host_hup) return;
  uint32_t events = 0;
  if (may_read_host(conn) && !conn.in_ready_list) events |= EPOLLIN;
  if (!conn.to_host.empty()) events |= EPOLLOUT;
  if (events == conn.epoll_events) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = conn.fd.get();
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, conn.fd.get(), &ev) != 0)
    throw_errno("vsock: epoll_ctl mod");
  conn.epoll_events = events;
}

void Muxer::on_host_event(Connection& conn, uint32_t events) {
  if (events & (EPOLLHUP | EPOLLERR)) return on_host_hup(conn);
  if (events & EPOLLOUT) {
    if (!write_to_host(conn, {})) return;
  }
  if ((events & EPOLLIN) && !conn.in_ready_list) {
    conn.in_ready_list = true;
    ready_.push_back(conn.key);
  }
  update_interest(conn);
}

void Muxer::on_host_hup(Connection& conn) {
  if (!conn.established) return reset_connection(conn);  // client gave up before the guest answered
  // The client is gone. It may have left data behind: keep the fd (out of epoll, which would
  // report the hangup forever) so fill_rx can still read up to EOF.
  ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, conn.fd.get(), nullptr);
  conn.host_hup = true;
  conn.epoll_events = 0;
  if (!conn.to_host.empty()) return reset_connection(conn);
  if (!conn.host_eof && !conn.guest_shut_rcv && !conn.in_ready_list) {
    conn.in_ready_list = true;
    ready_.push_back(conn.key);
  }
}

// --- packets for the guest -----------------------------------------------------------------

void Muxer::queue(const ConnKey& key, Op op, uint32_t flags, bool standalone) {
  if (op == Op::kRst) ++stats_.resets_sent;
  control_.push_back({key, op, flags, standalone});
}

Header Muxer::header_for(const ConnKey& key, Op op) const {
  Header h;
  h.src_cid = kHostCid;
  h.dst_cid = config_.guest_cid;
  h.src_port = key.local_port;
  h.dst_port = key.peer_port;
  h.type = kTypeStream;
  h.op = static_cast<uint16_t>(op);
  h.buf_alloc = config_.buf_alloc;
  return h;
}

std::optional<Header> Muxer::fill_rx(const virtio::ChainWriter& payload_space) {
  for (;;) {
    if (!control_.empty()) {
      const Control c = control_.front();
      control_.pop_front();
      Header h = header_for(c.key, c.op);
      h.flags = c.flags;
      Connection* conn = find(c.key);
      if (c.standalone) return h;
      if (!conn) continue;  // the stream ended before its packet went out
      if (c.op == Op::kCreditUpdate) conn->credit_update_queued = false;
      h.fwd_cnt = conn->credit.fwd_cnt();
      conn->credit.on_advertised();
      return h;
    }
    if (ready_.empty()) return std::nullopt;
    const ConnKey key = ready_.front();
    Connection* conn = find(key);
    if (!conn) {
      ready_.pop_front();
      continue;
    }
    if (!may_read_host(*conn)) {
      ready_.pop_front();
      conn->in_ready_list = false;
      if (conn->established && !conn->host_eof && !conn->guest_shut_rcv &&
          !conn->credit_request_sent) {
        // Out of credit with data waiting: ask, in case the guest's update got lost.
        conn->credit_request_sent = true;
        queue(key, Op::kCreditRequest);
      }
      update_interest(*conn);
      continue;
    }
    const size_t space = payload_space.available();
    if (space == 0) return std::nullopt;  // header-only buffers: data must wait
    const size_t limit = std::min<size_t>({space, conn->credit.peer_free(), kMaxPayload});
    std::vector<iovec> iov = payload_space.iovecs(limit);
    ssize_t n;
    do {
      n = ::readv(conn->fd.get(), iov.data(),
                  static_cast<int>(std::min<size_t>(iov.size(), IOV_MAX)));
    } while (n < 0 && errno == EINTR);
    ready_.pop_front();
    conn->in_ready_list = false;
    if (n < 0 && would_block(errno)) {
      update_interest(*conn);
      continue;
    }
    if (n < 0) {
      reset_connection(*conn);
      continue;
    }
    Header h = header_for(key, n == 0 ? Op::kShutdown : Op::kRw);
    h.fwd_cnt = conn->credit.fwd_cnt();
    conn->credit.on_advertised();
    if (n == 0) {
      // EOF from the client: tell the guest no more data comes (nor is read, if it is gone).
      conn->host_eof = true;
      h.flags = kShutdownSend | (conn->host_hup ? kShutdownRcv : 0);
      update_interest(*conn);
      finish_if_done(*conn);
      return h;
    }
    h.len = static_cast<uint32_t>(n);
    conn->credit.on_sent(h.len);
    // Round robin: the stream goes to the back while it may have more.
    conn->in_ready_list = true;
    ready_.push_back(key);
    update_interest(*conn);
    return h;
  }
}

// --- ending streams -------------------------------------------------------------------------

void Muxer::reset_connection(Connection& conn) {
  queue(conn.key, Op::kRst, 0, true);
  remove_connection(conn);
}

void Muxer::remove_connection(Connection& conn) {
  if (!conn.host_hup) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, conn.fd.get(), nullptr);
  conn_by_fd_.erase(conn.fd.get());
  conns_.erase(conn.key);  // closes the host socket
}

size_t Muxer::buffered_bytes() const {
  size_t total = 0;
  for (const auto& [key, conn] : conns_) total += conn->to_host.size();
  return total;
}

size_t Muxer::buffer_memory() const {
  size_t total = 0;
  for (const auto& [key, conn] : conns_) total += conn->to_host.allocated();
  return total;
}

Connection* Muxer::find(const ConnKey& key) {
  auto it = conns_.find(key);
  return it == conns_.end() ? nullptr : it->second.get();
}

void Muxer::reset() {
  for (auto& [fd, hs] : handshakes_) ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
  handshakes_.clear();
  while (!conns_.empty()) remove_connection(*conns_.begin()->second);
  control_.clear();
  ready_.clear();
  // The timer is left as it is: if it fires, expire_timeouts() finds nothing and disarms it.
  // reset() runs on whichever thread resets the device (a vCPU writing Status=0, teardown),
  // and only the device thread's seccomp filter allows timerfd_settime (docs/jail.md).
}

void Muxer::expire_timeouts() {
  const auto now = Clock::now();
  std::erase_if(handshakes_, [&](auto& entry) {
    if (entry.second.deadline > now) return false;
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, entry.first, nullptr);
    return true;
  });
  std::vector<Connection*> expired;
  for (auto& [key, conn] : conns_)
    if (!conn->established && conn->deadline <= now) expired.push_back(conn.get());
  for (Connection* conn : expired) {
    spdlog::debug("vsock: guest did not answer a connection to port {}", conn->key.peer_port);
    reset_connection(*conn);  // the RST also cancels a late RESPONSE
  }
  arm_timer();
}

void Muxer::arm_timer() {
  std::optional<Clock::time_point> earliest;
  auto consider = [&](Clock::time_point t) {
    if (!earliest || t < *earliest) earliest = t;
  };
  for (const auto& [fd, hs] : handshakes_) consider(hs.deadline);
  for (const auto& [key, conn] : conns_)
    if (!conn->established) consider(conn->deadline);
  itimerspec spec{};
  if (earliest) {
    const auto wait =
        std::max(*earliest - Clock::now(), Clock::duration(std::chrono::microseconds(1)));
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
    spec.it_value.tv_sec = ns / 1'000'000'000;
    spec.it_value.tv_nsec = ns % 1'000'000'000;
  }
  if (::timerfd_settime(timer_.get(), 0, &spec, nullptr) != 0)
    throw_errno("vsock: timerfd_settime");
}

}  // namespace kvrun::vmm::vsock
