#!/bin/sh
# /init of the virtio-net benchmark guest: eth0 gets kvrun.addr, pings kvrun.peer, then
# sends kvrun.bytes to the peer's port 5001 and receives as many from its port 5002.
. /lib/kvrun/prelude.sh
peer=$(param peer)
bytes=$(param bytes)
ip link set lo up
ip link set eth0 up
ip addr add "$(param addr)" dev eth0
ping -c 5 -W 5 "$peer"
blast send "$peer" 5001 "$bytes"
blast recv "$peer" 5002 "$bytes"
finish 0
