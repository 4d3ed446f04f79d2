#!/usr/bin/env python3
"""Writes the seed corpus of the virtio fuzzers (fuzz/corpus/<name>/): a few well-formed and
hostile rings in the input format of guest_ring.h. Rerun after changing that format."""
import os
import struct

QSIZE_LOG2 = 4
QSIZE = 1 << QSIZE_LOG2
AVAIL = 16 * QSIZE
USED = (AVAIL + 6 + 2 * QSIZE + 3) & ~3
NEXT, WRITE, INDIRECT = 1, 2, 4


def ring(descs, heads, features=3, avail_idx=None, extra=None, table=0, disk_ro=False):
    mem = bytearray(0x5000)
    for i, (addr, length, flags, nxt) in enumerate(descs):
        struct.pack_into("<QIHH", mem, table + 16 * i, addr, length, flags, nxt)
    struct.pack_into("<HH", mem, AVAIL, 0, len(heads) if avail_idx is None else avail_idx)
    for i, h in enumerate(heads):
        struct.pack_into("<H", mem, AVAIL + 4 + 2 * i, h)
    for addr, data in (extra or {}).items():
        mem[addr:addr + len(data)] = data
    flags = features | (4 if disk_ro else 0)
    return bytes([QSIZE_LOG2, flags]) + bytes(mem)


def request(kind, sector, data_len, data_writable, payload=b""):
    descs = [(0x2000, 16, NEXT, 1)]
    if data_len:
        descs.append((0x3000, data_len, (WRITE if data_writable else 0) | NEXT, 2))
    descs.append((0x4000, 1, WRITE, 0))
    extra = {0x2000: struct.pack("<IIQ", kind, 0, sector), 0x3000: payload}
    return descs, extra


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    seeds = {"fuzz_virtqueue": {}, "fuzz_virtio_blk": {}}
    q = seeds["fuzz_virtqueue"]
    q["simple"] = ring([(0x2000, 16, NEXT, 1), (0x3000, 512, WRITE | NEXT, 2),
                        (0x4000, 1, WRITE, 0)], [0])
    ind = [(0x2000, 16, NEXT, 1), (0x3000, 512, WRITE | NEXT, 2), (0x4000, 1, WRITE, 0)]
    indirect = bytearray(ring([(0x1000, 48, INDIRECT, 0)], [0]))
    for i, (addr, length, flags, nxt) in enumerate(ind):
        struct.pack_into("<QIHH", indirect, 2 + 0x1000 + 16 * i, addr, length, flags, nxt)
    q["indirect"] = bytes(indirect)
    q["loop"] = ring([(0x2000, 16, NEXT, 1), (0x2000, 16, NEXT, 0)], [0])
    q["ahead"] = ring([(0x2000, 16, 0, 0)], [0], avail_idx=40)
    q["outside"] = ring([(0xfffffffffffff000, 0x2000, WRITE, 0), (0x2000, 8, 0, 0)], [0, 1])

    b = seeds["fuzz_virtio_blk"]
    for name, (kind, sector, n, writable, payload, ro) in {
        "read": (0, 2, 1024, True, b"", False),
        "write": (1, 4, 512, False, b"\x42" * 512, False),
        "write_ro": (1, 4, 512, False, b"\x42" * 512, True),
        "flush": (4, 0, 0, False, b"", False),
        "get_id": (8, 0, 20, True, b"", False),
        "discard": (11, 0, 16, False, struct.pack("<QII", 8, 8, 0), False),
        "write_zeroes": (13, 0, 16, False, struct.pack("<QII", 8, 8, 1), False),
        "past_end": (0, 127, 1024, True, b"", False),
    }.items():
        descs, extra = request(kind, sector, n, writable, payload)
        b[name] = ring(descs, [0], extra=extra, disk_ro=ro)

    for fuzzer, files in seeds.items():
        d = os.path.join(here, "corpus", fuzzer)
        os.makedirs(d, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
