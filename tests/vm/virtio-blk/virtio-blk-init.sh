#!/bin/sh
# Guest side of tests/vm/virtio-blk: vda is read-only and holds a pattern whose sha256 the host
# passes as kvrun.vda_sha256; vdb is read-write and the host checks what lands there.
. /lib/kvrun/prelude.sh

# Read: the whole read-only disk hashes to what the host computed.
[ "$(cat /sys/block/vda/ro)" = 1 ]
[ "$(cat /sys/block/vdb/ro)" = 0 ]
echo "blk: vda sectors=$(cat /sys/block/vda/size) vdb sectors=$(cat /sys/block/vdb/size)"
sum=$(sha256sum /dev/vda | cut -d' ' -f1)
echo "blk: vda sha256=$sum"
[ "$sum" = "$(param vda_sha256)" ]

# Write: a marker at byte 1 MiB of vdb, flushed (fsync -> VIRTIO_BLK_T_FLUSH), and read back
# without the page cache.
printf 'kvrun-virtio-blk-marker' > /tmp/marker
dd if=/tmp/marker of=/dev/vdb bs=1M seek=1 conv=fsync 2>/dev/null
echo 3 > /proc/sys/vm/drop_caches
[ "$(dd if=/dev/vdb bs=1M skip=1 count=1 2>/dev/null | head -c 23)" = kvrun-virtio-blk-marker ]
echo "blk: vdb marker written"

# The read-only disk refuses writes.
if dd if=/dev/zero of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null; then
  echo "blk: write to read-only vda succeeded" >&2
  finish 2
fi
echo "blk: vda refused a write"

# Discard, if the host file system punches holes: the host then finds zeroes there.
if [ "$(cat /sys/block/vdb/queue/discard_max_bytes)" != 0 ]; then
  blkdiscard -o 2097152 -l 1048576 /dev/vdb
  echo "blk: vdb discarded"
fi

# The entropy device is the guest's hwrng and hands out bytes.
rng=$(cat /sys/devices/virtual/misc/hw_random/rng_current)
echo "blk: rng_current=$rng"
case $rng in virtio_rng*) ;; *) finish 3 ;; esac
[ "$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | wc -c)" = 32 ]
echo "blk: hwrng read"

sync
finish 0
