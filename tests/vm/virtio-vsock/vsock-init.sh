#!/bin/sh
# /init of the vsock VM test: streams from the host, then streams to the host, then a barrier
# so the host can count kvrun-vmm's descriptors while the guest still runs.
. /lib/kvrun/prelude.sh
count=$(param count)
size=$(param size)
vsock-xfer listen 5000 "$count"
vsock-xfer connect 2 6000 "$count" "$size"
vsock-xfer hold 5001
finish 0
