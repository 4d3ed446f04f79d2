#!/bin/sh
# /init of the vsock VM test (kvrun.mode=test): streams from the host, then streams to the
# host, then a barrier so the host can count kvrun-vmm's descriptors while the guest still runs.
# kvrun.mode=bench (bench/io/vsock): one bulk stream each way.
. /lib/kvrun/prelude.sh
if [ "$(param mode)" = bench ]; then
  vsock-xfer sink 5000
  vsock-xfer source 2 6000 "$(param bytes)"
  vsock-xfer hold 5001
  finish 0
fi
count=$(param count)
size=$(param size)
vsock-xfer listen 5000 "$count"
vsock-xfer connect 2 6000 "$count" "$size"
vsock-xfer hold 5001
finish 0
