// Streams bytes to the host over virtio-vsock as fast as the host's credit allows, for the VMM's
// flow-control test (tests/vm/virtio-vsock/vsock_flow_test.cpp): a guest faster than its host
// reader must never make kvrun-vmm buffer more than the credit it advertised.
//
// A minimal polled virtio-mmio (version 2) driver: no interrupts, split queues of kQueueSize,
// RX buffers that only ever carry control packets (the host sends us no data), and TX packets
// whose payload points into a static pattern (byte i of the stream is i % 251), never copied.
// It keeps to the credit the host advertises, as a well-behaved driver does.
//
// Command line: vsock.port=P (host port, default 5000), vsock.mib=N (MiB to send, default
// 256). Prints "vsock-stream connected" once the host accepted and "vsock-stream sent=<MiB>"
// after the host's RST acknowledges our close (every byte reached the host socket); exit 0.
// Exit 2: no vsock device; 3: the device refused our features; 4: the host reset the stream.
#include "boot_params.h"
#include "virtio_mmio.h"

#define VIRTIO_MMIO_SLOT_BASE 0xd0000000ull  // kvrun::vmm::layout::kVirtioMmioBase
#define VIRTIO_MMIO_SLOT_SIZE 0x1000
#define VIRTIO_MMIO_SLOTS 14

#define DEVICE_ID_VSOCK 19

#define RX_QUEUE 0
#define TX_QUEUE 1
#define EVENT_QUEUE 2
#define QUEUE_SIZE 16
#define TX_SLOTS (QUEUE_SIZE / 2)  // a TX packet is a header descriptor and a payload one
#define RX_BUFFER_SIZE 256

#define VSOCK_HOST_CID 2
#define VSOCK_TYPE_STREAM 1
#define OP_REQUEST 1
#define OP_RESPONSE 2
#define OP_RST 3
#define OP_SHUTDOWN 4
#define OP_RW 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQUEST 7
#define SHUTDOWN_BOTH 3
#define MAX_PAYLOAD 65536
#define PATTERN_PERIOD 251
#define GUEST_PORT 1234
#define GUEST_BUF_ALLOC 65536

struct virtq_desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};
struct virtq_avail {
  uint16_t flags;
  uint16_t idx;
  uint16_t ring[QUEUE_SIZE];
  uint16_t used_event;
};
struct virtq_used_elem {
  uint32_t id;
  uint32_t len;
};
struct virtq_used {
  uint16_t flags;
  uint16_t idx;
  struct virtq_used_elem ring[QUEUE_SIZE];
  uint16_t avail_event;
};

struct vsock_hdr {
  uint64_t src_cid;
  uint64_t dst_cid;
  uint32_t src_port;
  uint32_t dst_port;
  uint32_t len;
  uint16_t type;
  uint16_t op;
  uint32_t flags;
  uint32_t buf_alloc;
  uint32_t fwd_cnt;
} __attribute__((packed));

struct queue {
  struct virtq_desc desc[QUEUE_SIZE] __attribute__((aligned(4096)));
  struct virtq_avail avail __attribute__((aligned(4096)));
  struct virtq_used used __attribute__((aligned(4096)));
  uint16_t last_used;
};

static struct queue queues[3];
static uint8_t rx_buffers[QUEUE_SIZE][RX_BUFFER_SIZE];
static struct vsock_hdr tx_headers[TX_SLOTS];
static bool tx_busy[TX_SLOTS];
static uint8_t pattern[MAX_PAYLOAD + PATTERN_PERIOD];

static uintptr_t mmio;
static uint64_t guest_cid;
static uint32_t host_port = 5000;

// Flow control, as the guest's side of the virtio-vsock spec keeps it.
static uint32_t host_buf_alloc, host_fwd_cnt, tx_cnt;
static bool connected, reset_seen;

#define barrier() __asm__ volatile("" ::: "memory")

static uint32_t reg_read(uint32_t offset) { return virtio_read(mmio, offset); }
static void reg_write(uint32_t offset, uint32_t value) { virtio_write(mmio, offset, value); }
static void reg_write64(uint32_t offset, uint64_t value) { virtio_write64(mmio, offset, value); }

static uint64_t parse_param(const char* cmdline, const char* key, uint64_t fallback) {
  for (const char* p = cmdline; *p != '\0'; ++p) {
    if (p != cmdline && p[-1] != ' ') continue;
    const char* k = key;
    const char* v = p;
    while (*k != '\0' && *v == *k) ++k, ++v;
    if (*k != '\0') continue;
    uint64_t value = 0;
    if (*v < '0' || *v > '9') return fallback;
    while (*v >= '0' && *v <= '9') value = value * 10 + (uint64_t)(*v++ - '0');
    return value;
  }
  return fallback;
}

static bool find_device(void) {
  for (int i = 0; i < VIRTIO_MMIO_SLOTS; ++i) {
    mmio = VIRTIO_MMIO_SLOT_BASE + (uintptr_t)i * VIRTIO_MMIO_SLOT_SIZE;
    if (reg_read(REG_MAGIC) == VIRTIO_MMIO_MAGIC && reg_read(REG_VERSION) == 2 &&
        reg_read(REG_DEVICE_ID) == DEVICE_ID_VSOCK)
      return true;
  }
  return false;
}

static bool setup_queue(uint32_t index) {
  struct queue* q = &queues[index];
  reg_write(REG_QUEUE_SEL, index);
  if (reg_read(REG_QUEUE_NUM_MAX) < QUEUE_SIZE) return false;
  reg_write(REG_QUEUE_NUM, QUEUE_SIZE);
  reg_write64(REG_QUEUE_DESC, (uint64_t)(uintptr_t)q->desc);
  reg_write64(REG_QUEUE_DRIVER, (uint64_t)(uintptr_t)&q->avail);
  reg_write64(REG_QUEUE_DEVICE, (uint64_t)(uintptr_t)&q->used);
  reg_write(REG_QUEUE_READY, 1);
  return true;
}

// The spec's initialisation order (virtio 1.2 §3.1.1): queues only after FEATURES_OK.
static int init_device(void) {
  reg_write(REG_STATUS, 0);
  reg_write(REG_STATUS, STATUS_ACK);
  reg_write(REG_STATUS, STATUS_ACK | STATUS_DRIVER);
  reg_write(REG_DEVICE_FEATURES_SEL, 1);
  if (!(reg_read(REG_DEVICE_FEATURES) & FEATURE_VERSION_1_HIGH)) return 3;
  reg_write(REG_DRIVER_FEATURES_SEL, 0);
  reg_write(REG_DRIVER_FEATURES, 0);
  reg_write(REG_DRIVER_FEATURES_SEL, 1);
  reg_write(REG_DRIVER_FEATURES, FEATURE_VERSION_1_HIGH);
  reg_write(REG_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK);
  if (!(reg_read(REG_STATUS) & STATUS_FEATURES_OK)) return 3;
  for (uint32_t i = 0; i < 3; ++i)
    if (!setup_queue(i)) return 3;
  guest_cid = reg_read(REG_CONFIG) | ((uint64_t)reg_read(REG_CONFIG + 4) << 32);
  reg_write(REG_STATUS, STATUS_ACK | STATUS_DRIVER | STATUS_FEATURES_OK | STATUS_DRIVER_OK);
  return 0;
}

static void publish(uint32_t index, uint16_t head) {
  struct queue* q = &queues[index];
  q->avail.ring[q->avail.idx % QUEUE_SIZE] = head;
  barrier();  // x86 keeps stores in order; the compiler must too: ring entry before idx
  *(volatile uint16_t*)&q->avail.idx = (uint16_t)(q->avail.idx + 1);
  barrier();
  reg_write(REG_QUEUE_NOTIFY, index);
}

static void give_rx_buffer(uint16_t id) {
  struct virtq_desc* d = &queues[RX_QUEUE].desc[id];
  d->addr = (uint64_t)(uintptr_t)rx_buffers[id];
  d->len = RX_BUFFER_SIZE;
  d->flags = DESC_F_WRITE;
  d->next = 0;
  publish(RX_QUEUE, id);
}

static int free_tx_slot(void) {
  for (int i = 0; i < TX_SLOTS; ++i)
    if (!tx_busy[i]) return i;
  return -1;
}

// Sends a packet in TX slot `slot`; `payload` may be NULL when `len` is 0.
static void send_packet(int slot, uint16_t op, uint32_t flags, const uint8_t* payload,
                        uint32_t len) {
  struct vsock_hdr* h = &tx_headers[slot];
  h->src_cid = guest_cid;
  h->dst_cid = VSOCK_HOST_CID;
  h->src_port = GUEST_PORT;
  h->dst_port = host_port;
  h->len = len;
  h->type = VSOCK_TYPE_STREAM;
  h->op = op;
  h->flags = flags;
  h->buf_alloc = GUEST_BUF_ALLOC;
  h->fwd_cnt = 0;  // we never receive data
  struct virtq_desc* d = &queues[TX_QUEUE].desc[2 * slot];
  d[0].addr = (uint64_t)(uintptr_t)h;
  d[0].len = sizeof(*h);
  d[0].flags = len ? DESC_F_NEXT : 0;
  d[0].next = (uint16_t)(2 * slot + 1);
  if (len) {
    d[1].addr = (uint64_t)(uintptr_t)payload;
    d[1].len = len;
    d[1].flags = 0;
    d[1].next = 0;
  }
  tx_busy[slot] = true;
  publish(TX_QUEUE, (uint16_t)(2 * slot));
}

static uint32_t credit(void) {
  const uint32_t in_flight = tx_cnt - host_fwd_cnt;
  return in_flight >= host_buf_alloc ? 0 : host_buf_alloc - in_flight;
}

static void reap_tx(void) {
  struct queue* q = &queues[TX_QUEUE];
  while (q->last_used != *(volatile uint16_t*)&q->used.idx) {
    barrier();
    const uint32_t id = q->used.ring[q->last_used % QUEUE_SIZE].id;
    if (id < QUEUE_SIZE) tx_busy[id / 2] = false;
    ++q->last_used;
  }
}

static void reap_rx(void) {
  struct queue* q = &queues[RX_QUEUE];
  while (q->last_used != *(volatile uint16_t*)&q->used.idx) {
    barrier();
    const uint32_t id = q->used.ring[q->last_used % QUEUE_SIZE].id;
    ++q->last_used;
    if (id >= QUEUE_SIZE) continue;
    struct vsock_hdr h;
    uint8_t* bytes = (uint8_t*)&h;
    for (unsigned i = 0; i < sizeof(h); ++i) bytes[i] = rx_buffers[id][i];
    if (h.src_port == host_port && h.dst_port == GUEST_PORT) {
      host_buf_alloc = h.buf_alloc;
      host_fwd_cnt = h.fwd_cnt;
      if (h.op == OP_RESPONSE) connected = true;
      if (h.op == OP_RST) reset_seen = true;
      // A CREDIT_REQUEST needs no answer: every packet we send carries our (fixed) credit.
    }
    give_rx_buffer((uint16_t)id);
  }
}

int guest_main(const uint8_t* bp) {
  const char* cmdline = (const char*)(uintptr_t)(read_le(bp + BP_CMD_LINE_PTR, 4) |
                                                 (read_le(bp + BP_EXT_CMD_LINE_PTR, 4) << 32));
  host_port = (uint32_t)parse_param(cmdline, "vsock.port=", 5000);
  const uint64_t total = parse_param(cmdline, "vsock.mib=", 256) << 20;
  for (uint32_t i = 0; i < sizeof pattern; ++i) pattern[i] = (uint8_t)(i % PATTERN_PERIOD);

  if (!find_device()) {
    serial_puts("kvrun-test-guest: vsock-stream: no virtio-vsock device\n");
    return 2;
  }
  if (init_device() != 0) {
    serial_puts("kvrun-test-guest: vsock-stream: device setup failed\n");
    return 3;
  }
  for (uint16_t i = 0; i < QUEUE_SIZE; ++i) give_rx_buffer(i);

  send_packet(0, OP_REQUEST, 0, 0, 0);
  while (!connected && !reset_seen) {
    reap_tx();
    reap_rx();
    cpu_pause();
  }
  if (reset_seen) {
    serial_puts("kvrun-test-guest: vsock-stream: the host refused the connection\n");
    return 4;
  }
  serial_puts("kvrun-test-guest: vsock-stream connected\n");

  uint64_t sent = 0;
  bool shutdown_sent = false;
  while (!reset_seen) {
    reap_tx();
    reap_rx();
    const int slot = free_tx_slot();
    if (slot < 0) {
      cpu_pause();
      continue;
    }
    if (sent < total) {
      uint64_t len = credit();
      if (len == 0) {
        cpu_pause();
        continue;
      }
      if (len > MAX_PAYLOAD) len = MAX_PAYLOAD;
      if (len > total - sent) len = total - sent;
      send_packet(slot, OP_RW, 0, pattern + sent % PATTERN_PERIOD, (uint32_t)len);
      tx_cnt += (uint32_t)len;
      sent += len;
    } else if (!shutdown_sent) {
      // The host answers with RST once everything we sent has reached its socket.
      send_packet(slot, OP_SHUTDOWN, SHUTDOWN_BOTH, 0, 0);
      shutdown_sent = true;
    } else {
      cpu_pause();
    }
  }
  if (!shutdown_sent) {
    serial_puts("kvrun-test-guest: vsock-stream: the host reset the stream after ");
    serial_put_dec(sent);
    serial_puts(" bytes\n");
    return 4;
  }
  serial_puts("kvrun-test-guest: vsock-stream sent=");
  serial_put_dec(sent >> 20);
  serial_putc('\n');
  return 0;
}
