// virtio-vsock: the guest packet parser, and the multiplexer fed whatever passes it.
//
// Input: records of  u8 cut | u16 len (little-endian) | len bytes. Each record's bytes are one
// TX chain on a real split virtqueue (driven by the unit tests' test driver), split into two
// descriptors at `cut`; a packet that parses goes to a Muxer whose
// <uds>_1024 has a listener (so guest REQUESTs to port 1024 open real streams), and after each
// one the muxer's RX output is drained into a split buffer. Checked: the parser's payload is
// exactly header.len bytes inside the chain; every packet for the guest is addressed host ->
// guest, is a known op and fits the buffer; the stream count stays under the limit; and the
// guest bytes held for host sockets (nobody reads them here) never exceed each stream's
// advertised credit plus its OK line, in bytes held or in heap.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "fuzz/guest_ring.h"
#include "tests/support/virtio/test_driver.h"
#include "vmm/devices/virtio/vsock/connect_line.h"
#include "vmm/devices/virtio/vsock/guest_packet.h"
#include "vmm/devices/virtio/vsock/muxer.h"

namespace {

using namespace kvrun::vmm::vsock;
using kvrun::vmm::virtio::DescriptorChain;
using kvrun::vmm::virtio::Queue;
using kvrun::vmm::virtio::test::TestDriver;

constexpr uint64_t kGuestCid = 3;
constexpr size_t kMaxStreams = 64;
constexpr uint32_t kBufAlloc = 16 * 1024;

void check(bool ok) {
  if (!ok) std::abort();
}

struct Harness {
  std::string dir;
  std::unique_ptr<Muxer> mux;
  kvrun::UniqueFd listener;

  Harness() {
    char tmpl[] = "/tmp/kvrun-fuzz-vsock-XXXXXX";
    check(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    MuxerConfig config;
    config.guest_cid = kGuestCid;
    config.uds_path = dir + "/v.sock";
    config.max_connections = kMaxStreams;
    config.buf_alloc = kBufAlloc;
    mux = std::make_unique<Muxer>(config);
    listener.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = dir + "/v.sock_1024";
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    check(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    check(::listen(listener.get(), 256) == 0);
    // The harness lives for the whole run; its socket directory goes with the process.
    static std::string* to_remove = &dir;
    std::atexit([] { std::filesystem::remove_all(*to_remove); });
  }

  // Between inputs: every stream dropped, and the listener's backlog emptied.
  void clear() {
    mux->reset();
    while (kvrun::UniqueFd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC))) {
    }
  }

  void drain_rx(size_t max_packets) {
    std::vector<uint8_t> a(1000), b(3096);
    const std::vector<std::span<uint8_t>> parts{a, b};
    for (size_t i = 0; i < max_packets; ++i) {
      const std::optional<Header> h = mux->fill_rx(kvrun::vmm::virtio::ChainWriter(parts));
      if (!h) return;
      check(h->src_cid == kHostCid && h->dst_cid == kGuestCid && h->type == kTypeStream);
      check(h->op >= static_cast<uint16_t>(Op::kRequest) &&
            h->op <= static_cast<uint16_t>(Op::kCreditRequest));
      check(h->len <= a.size() + b.size());
      check(h->len == 0 || h->op == static_cast<uint16_t>(Op::kRw));
    }
  }
};

// The guest's TX queue: the shared test driver posts each record as a chain of two readable
// descriptors (split at `cut`; an empty one is dropped by the queue), and the device side
// pops it from a real split virtqueue, as the vsock device does.
struct TxRing {
  static constexpr uint16_t kSize = 256;
  kvrun::vmm::GuestMemory& memory = kvrun::vmm::virtio::fuzz::fuzz_memory();
  Queue queue{kSize};
  TestDriver driver{memory, kSize};

  TxRing() { driver.setup(queue); }

  // Posts `bytes` and returns the guest memory now holding them.
  std::span<const uint8_t> post(std::span<const uint8_t> bytes, size_t split) {
    driver.rewind_data();  // the previous record is consumed: the muxer copied what it kept
    const uint64_t addr = driver.alloc_bytes(bytes);
    const auto first = static_cast<uint32_t>(split);
    driver.add_chain(
        {{addr, first, false}, {addr + first, static_cast<uint32_t>(bytes.size() - split), false}});
    return memory.slice(addr, bytes.size());
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Harness* harness = new Harness();  // one socket directory for the whole run
  TxRing ring;
  size_t pos = 0;
  while (pos + 3 <= size) {
    const size_t cut = data[pos];
    size_t len = data[pos + 1] | (static_cast<size_t>(data[pos + 2]) << 8);
    pos += 3;
    len = std::min(len, size - pos);
    const std::span<const uint8_t> bytes(data + pos, len);
    pos += len;
    const size_t split = std::min(cut, len);
    const std::span<const uint8_t> record = ring.post(bytes, split);
    std::optional<DescriptorChain> chain = ring.queue.pop();
    check(chain.has_value());
    ring.queue.add_used(chain->head(), 0);
    GuestPacket packet;
    if (parse_guest_packet(chain->reader(), kGuestCid, packet) != HeaderError::kOk) continue;
    size_t payload = 0;
    for (auto part : packet.payload.parts()) {
      check(part.data() >= record.data() && part.data() + part.size() <= record.data() + len);
      payload += part.size();
    }
    check(payload == packet.header.len && payload <= kMaxPayload);
    if (harness->mux->accepts_guest_packets()) harness->mux->on_guest_packet(packet);
    harness->mux->process_host_events();
    harness->drain_rx(4);
    check(harness->mux->connection_count() <= kMaxStreams);
    const size_t per_stream = kBufAlloc + kMaxOkLine;
    check(harness->mux->buffered_bytes() <= harness->mux->connection_count() * per_stream);
    check(harness->mux->buffer_memory() <= harness->mux->connection_count() * per_stream);
  }
  harness->drain_rx(SIZE_MAX);
  harness->clear();
  return 0;
}
