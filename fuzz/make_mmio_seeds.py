#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtio_mmio (fuzz/corpus/fuzz_virtio_mmio/): well-behaved
driver sessions in the operation format of virtio_mmio_fuzzer.cpp, for the fuzzer to mutate
into hostile ones. Rerun after changing that format."""
import os
import struct

RNG, BLK = 0, 1
WRITE, NEXT = 2, 1
REG_QUEUE_SEL, REG_QUEUE_NUM, REG_QUEUE_READY, REG_STATUS = 3, 4, 5, 8


def reg(index, value):
    return bytes([0, index]) + struct.pack("<I", value)


def notify(queue=0):
    return bytes([2, queue])


NEGOTIATE = bytes([4])
DRIVER_OK = bytes([6])


def setup(log2):
    return bytes([5, log2])


def publish(length, flags):
    return bytes([7, length, flags])


def memory(offset, data):
    return bytes([3]) + struct.pack("<HB", offset, len(data)) + data


SEEDS = {
    "rng_one_buffer": bytes([RNG]) + NEGOTIATE + setup(1) + DRIVER_OK + publish(64, WRITE) +
    notify(),
    "rng_many_buffers": bytes([RNG]) + NEGOTIATE + setup(2) + DRIVER_OK +
    b"".join(publish(16 * i, WRITE) + notify() for i in range(1, 7)),
    "rng_reset_and_again": bytes([RNG]) + NEGOTIATE + setup(1) + DRIVER_OK + publish(8, WRITE) +
    notify() + reg(REG_STATUS, 0) + NEGOTIATE + setup(3) + DRIVER_OK + publish(8, WRITE) +
    notify(),
    "blk_request": bytes([BLK]) + NEGOTIATE + setup(3) + DRIVER_OK +
    memory(0, struct.pack("<IIQ", 0, 0, 0)) + publish(16, 0) + notify(),
    "rng_queue_sel_other": bytes([RNG]) + NEGOTIATE + reg(REG_QUEUE_SEL, 1) + setup(1) +
    reg(REG_QUEUE_SEL, 0) + setup(0) + DRIVER_OK + publish(4, WRITE) + notify(),
    "rng_setup_after_driver_ok": bytes([RNG]) + NEGOTIATE + setup(1) + DRIVER_OK +
    publish(8, WRITE) + notify() + reg(REG_QUEUE_NUM, 4) + publish(8, WRITE) + notify(),
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_virtio_mmio")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
