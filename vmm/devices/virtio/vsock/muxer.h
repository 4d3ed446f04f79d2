// The vsock connection multiplexer: every stream between guest ports and host Unix sockets,
// with the guest side kept abstract so it runs without queues or a VM.
//
//   host -> guest: clients connect to `uds`, write "CONNECT <port>\n"; the muxer sends the
//                  guest a REQUEST and, on its RESPONSE, writes "OK <local port>\n" back.
//                  If the guest refuses (RST) or does not answer within connect_timeout, the
//                  client's socket is closed: it reads EOF without an OK line and may retry.
//   guest -> host: a guest REQUEST to port P connects to the Unix socket "<uds>_<P>"; nothing
//                  listening there means an RST to the guest (ECONNRESET in the guest).
//
// The owner feeds packets from the TX queue to on_guest_packet(), asks fill_rx() for packets
// whenever the guest has RX buffers and has_rx() is true, and calls process_host_events()
// whenever fd() is readable. Host data is read straight into guest RX buffers, only as far as
// the guest's credit allows; guest data beyond what a host socket takes is held up to our
// advertised buf_alloc per stream, so a host client that stops reading stalls only its stream.
// Single-threaded: all calls from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/unique_fd.h"
#include "vmm/devices/virtio/chain.h"
#include "vmm/devices/virtio/vsock/connection.h"
#include "vmm/devices/virtio/vsock/guest_packet.h"
#include "vmm/devices/virtio/vsock/packet.h"

namespace kvrun::vmm::vsock {

struct MuxerConfig {
  uint64_t guest_cid = 3;
  std::filesystem::path uds_path;
  // Receive buffer we advertise per stream (Linux's own default is 256 KiB).
  uint32_t buf_alloc = 256 * 1024;
  // A host client must send its CONNECT line within this.
  std::chrono::milliseconds handshake_timeout{2000};
  // The guest must answer a host-initiated REQUEST within this.
  std::chrono::milliseconds connect_timeout{2000};
  // Streams plus host clients still in the handshake; more are refused.
  size_t max_connections = 1024;
};

struct MuxerStats {
  uint64_t bad_packets = 0;  // refused by the parser or by the stream state
  uint64_t resets_sent = 0;
};

class Muxer {
 public:
  // Binds and listens on config.uds_path (a stale socket file there is replaced; any other
  // file is an error). Throws kvrun::Error.
  explicit Muxer(MuxerConfig config);
  ~Muxer();
  Muxer(const Muxer&) = delete;
  Muxer& operator=(const Muxer&) = delete;

  // An epoll fd that is readable while process_host_events() has something to do.
  int fd() const { return epoll_.get(); }
  // Accepts clients, reads handshakes, notes readable/writable host sockets, expires timeouts.
  // Never blocks.
  void process_host_events();

  // One packet from the guest's TX queue (already validated by parse_guest_packet).
  void on_guest_packet(const GuestPacket& packet);
  // False while so many control packets wait for RX buffers that the owner should stop taking
  // TX packets (the guest then waits instead of making us queue without bound).
  bool accepts_guest_packets() const { return control_.size() < kMaxControlQueue; }

  bool has_rx() const { return !control_.empty() || !ready_.empty(); }
  // Produces the next packet for the guest: a header, with header.len payload bytes written to
  // the start of `payload_space` (the RX buffer after its header). nullopt if nothing is ready.
  std::optional<Header> fill_rx(const virtio::ChainWriter& payload_space);

  // Device reset: every stream and handshake is dropped (host sockets closed).
  void reset();

  size_t connection_count() const { return conns_.size(); }
  size_t handshake_count() const { return handshakes_.size(); }
  const MuxerStats& stats() const { return stats_; }
  // Guest bytes held for host sockets that have not taken them, over all streams, and the heap
  // those buffers occupy. Each stream's share is at most buf_alloc (plus its OK line).
  size_t buffered_bytes() const;
  size_t buffer_memory() const;

  static constexpr size_t kMaxControlQueue = 2048;

 private:
  struct Handshake {
    UniqueFd fd;
    std::string line;
    Clock::time_point deadline;
  };
  struct Control {
    ConnKey key;
    Op op;
    uint32_t flags = 0;
    bool standalone = false;  // sent even when the stream is gone (RST)
  };

  void accept_clients();
  void read_handshake(int fd);
  void start_host_connection(UniqueFd fd, uint32_t guest_port);
  void connect_to_host(const GuestPacket& packet);
  void on_host_event(Connection& conn, uint32_t events);
  void on_host_hup(Connection& conn);
  void on_guest_data(Connection& conn, const GuestPacket& packet);
  void on_guest_shutdown(Connection& conn, uint32_t flags);
  // Writes what it can of `extra` after to_host; keeps the rest. False if the stream was reset.
  bool write_to_host(Connection& conn, virtio::ChainReader extra);
  void finish_if_done(Connection& conn);
  void after_forward(Connection& conn, size_t bytes);
  void update_interest(Connection& conn);
  bool may_read_host(const Connection& conn) const;
  void queue(const ConnKey& key, Op op, uint32_t flags = 0, bool standalone = false);
  void reset_connection(Connection& conn);
  void remove_connection(Connection& conn);
  Header header_for(const ConnKey& key, Op op) const;
  Connection* find(const ConnKey& key);
  uint32_t allocate_local_port(uint32_t peer_port);
  void expire_timeouts();
  void arm_timer();
  void epoll_add(int fd, uint32_t events);

  MuxerConfig config_;
  UniqueFd epoll_;
  UniqueFd listener_;
  UniqueFd timer_;
  std::map<ConnKey, std::unique_ptr<Connection>> conns_;
  std::unordered_map<int, ConnKey> conn_by_fd_;
  std::unordered_map<int, Handshake> handshakes_;
  std::deque<Control> control_;
  std::deque<ConnKey> ready_;  // streams whose host socket may have data for the guest
  uint32_t next_local_port_ = 1u << 30;
  MuxerStats stats_;
};

}  // namespace kvrun::vmm::vsock
