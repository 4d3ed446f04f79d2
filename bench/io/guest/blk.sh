#!/bin/sh
# Guest side of bench/io's blk section: reads all of /dev/vda once, cold (page cache dropped),
# and reports the bytes and the time from /proc/uptime (centiseconds).
. /lib/kvrun/prelude.sh
echo 3 > /proc/sys/vm/drop_caches
uptime_cs() { awk '{ printf "%d", $1 * 100 }' /proc/uptime; }
start=$(uptime_cs)
dd if=/dev/vda of=/dev/null bs=1M 2>/dev/null
end=$(uptime_cs)
echo "bench-io: blk bytes=$(($(cat /sys/block/vda/size) * 512)) centiseconds=$((end - start))"
finish 0
