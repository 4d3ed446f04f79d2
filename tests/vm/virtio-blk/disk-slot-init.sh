#!/bin/sh
# Guest side of the disk-slot test (virtio_blk_slot_vm_test.cpp): vda and vdb are empty slots
# the host puts an erofs image in vda, takes it out when told, and puts another one in.
. /lib/kvrun/prelude.sh

# wait_size DEV nonzero|zero: until the slot's capacity (a config-change interrupt away) is so.
wait_size() {
  tries=0
  while :; do
    size=$(cat "/sys/block/$1/size")
    if [ "$2" = nonzero ] && [ "$size" != 0 ]; then return 0; fi
    if [ "$2" = zero ] && [ "$size" = 0 ]; then return 0; fi
    tries=$((tries + 1))
    if [ "$tries" -ge 1200 ]; then
      echo "slot: $1 never became $2" >&2
      finish 3
    fi
    sleep 0.1
  done
}

[ "$(cat /sys/block/vda/ro)" = 1 ]
[ "$(cat /sys/block/vda/size)" = 0 ]
# An empty slot reads as nothing at all.
[ "$(dd if=/dev/vdb bs=512 count=1 2>/dev/null | wc -c)" = 0 ]
mkdir -p /mnt
echo "slot: ready"

wait_size vda nonzero
mount -t erofs -o ro /dev/vda /mnt
echo "slot: first=$(cat /mnt/id)"
umount /mnt
echo "slot: unmounted"

wait_size vda zero
echo "slot: empty"
wait_size vda nonzero
mount -t erofs -o ro /dev/vda /mnt
echo "slot: second=$(cat /mnt/id)"
umount /mnt
finish 0
