#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_vsock_packet (fuzz/corpus/fuzz_vsock_packet/): guest packet
sequences in the fuzzer's record format (u8 cut | u16 len | bytes), one scenario per file."""
import os
import struct
import sys

GUEST, HOST = 3, 2
REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = range(1, 8)


def packet(op, payload=b"", src_port=5000, dst_port=1024, flags=0, buf_alloc=65536,
           fwd_cnt=0, src_cid=GUEST, dst_cid=HOST, type_=1, length=None):
    header = struct.pack("<QQIIIHHIII", src_cid, dst_cid, src_port, dst_port,
                         len(payload) if length is None else length, type_, op, flags,
                         buf_alloc, fwd_cnt)
    return header + payload


def record(data, cut=44):
    return struct.pack("<BH", min(cut, 255), len(data)) + data


SEEDS = {
    "connect_rw_close": [packet(REQUEST), packet(RW, b"hello"),
                         packet(SHUTDOWN, flags=3), packet(RST)],
    "connect_nothing_listens": [packet(REQUEST, dst_port=7)],
    "credit": [packet(REQUEST), packet(CREDIT_REQUEST), packet(CREDIT_UPDATE, fwd_cnt=100),
               packet(RW, b"x" * 4000)],
    "overrun": [packet(REQUEST)] + [packet(RW, b"y" * 4096)] * 8,
    "half_close": [packet(REQUEST), packet(SHUTDOWN, flags=2), packet(RW, b"late")],
    "unknown_stream": [packet(RW, b"z", src_port=1, dst_port=2), packet(RST, src_port=1)],
    "bad_header": [packet(RW, b"", src_cid=9), packet(RW, length=100), packet(9),
                   packet(RW, type_=2)],
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "corpus", "fuzz_vsock_packet")
    os.makedirs(out, exist_ok=True)
    for name, packets in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            for i, p in enumerate(packets):
                f.write(record(p, cut=(i * 17) % 60))


if __name__ == "__main__":
    main()
