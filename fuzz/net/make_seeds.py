#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtio_net (fuzz/corpus/fuzz_virtio_net/) in the input
format of fuzz/guest_ring.h: a few well-formed and hostile TX and RX chains."""
import os
import struct

QSIZE_LOG2 = 4
QSIZE = 1 << QSIZE_LOG2
AVAIL = 16 * QSIZE
NEXT, WRITE = 1, 2
ALL_OFFLOADS = 4  # byte 1, bit 2: every offload feature negotiated


def ring(descs, heads, flags=3 | ALL_OFFLOADS, extra=None):
    mem = bytearray(0x12000)
    for i, (addr, length, dflags, nxt) in enumerate(descs):
        struct.pack_into("<QIHH", mem, 16 * i, addr, length, dflags, nxt)
    struct.pack_into("<HH", mem, AVAIL, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into("<H", mem, AVAIL + 4 + 2 * i, h)
    for addr, data in (extra or {}).items():
        mem[addr:addr + len(data)] = data
    # Guest memory past the input reads as zero: trailing zeros need not be stored.
    return bytes([QSIZE_LOG2, flags]) + bytes(mem).rstrip(b"\0")


def header(flags=0, gso=0, hdr_len=0, gso_size=0, start=0, offset=0):
    return struct.pack("<BBHHHHH", flags, gso, hdr_len, gso_size, start, offset, 0)


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus",
                       "fuzz_virtio_net")
    os.makedirs(out, exist_ok=True)
    frame = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + bytes(46)
    seeds = {
        "tx_plain": ring([(0x2000, 12 + len(frame), 0, 0)], [0],
                         extra={0x2000: header() + frame}),
        "tx_split_header": ring([(0x2000, 5, NEXT, 1), (0x2005, 7, NEXT, 2),
                                 (0x3000, len(frame), 0, 0)], [0],
                                extra={0x2000: header(1, 0, 0, 0, 34, 6), 0x3000: frame}),
        "tx_tso": ring([(0x2000, 12, NEXT, 1), (0x3000, 0x8000, 0, 0)], [0],
                       extra={0x2000: header(1, 1, 54, 1448, 34, 16)}),
        "tx_short": ring([(0x2000, 11, 0, 0)], [0]),
        "tx_too_long": ring([(0x2000, 0x10000, NEXT, 1), (0x2000, 0x10000, 0, 0)], [0]),
        "rx_big": ring([(0x2000, 12, WRITE | NEXT, 1), (0x3000, 0x10000, WRITE, 0)], [0]),
        "rx_small": ring([(0x2000, 12 + 60, WRITE, 0)], [0]),
        "rx_mixed": ring([(0x2000, 12, NEXT, 1), (0x3000, 1500, WRITE, 0)], [0]),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
