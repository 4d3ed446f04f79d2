#!/bin/sh
# /init of the virtio-net VM test: eth0 gets kvrun.addr, pings kvrun.peer, then moves
# kvrun.bytes random bytes to the peer (port 5001) and the peer's bytes back (port 5002),
# printing the SHA-256 of each for the host to compare.
. /lib/kvrun/prelude.sh
peer=$(param peer)
bytes=$(param bytes)

ip link set lo up
ip link set eth0 up
ip addr add "$(param addr)" dev eth0
echo "kvrun-net: eth0 $(cat /sys/class/net/eth0/address) features $(cat /sys/class/net/eth0/device/features 2>/dev/null)"

ping -c 3 -W 5 "$peer" > /tmp/ping.txt
cat /tmp/ping.txt

dd if=/dev/urandom of=/tmp/out bs=65536 count=$((bytes / 65536)) 2>/dev/null
echo "kvrun-net: sent $(sha256sum < /tmp/out)"
nc "$peer" 5001 < /tmp/out

nc "$peer" 5002 > /tmp/in
echo "kvrun-net: received $(wc -c < /tmp/in) bytes $(sha256sum < /tmp/in)"
finish 0
