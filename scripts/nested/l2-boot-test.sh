#!/usr/bin/env bash
# Boots a real Linux (L2) with QEMU -accel kvm and measures how long it takes.
# Meant to run inside the nested L1 VM:
#   scripts/with-nested-kvm.sh -- scripts/nested/l2-boot-test.sh \
#       [-M pc|q35|microvm] [-m MiB] [-t timeout] [-k kernel-image]
# Uses the cached Debian kernel from build-l1.sh and a busybox initramfs whose
# /init prints a marker and powers off. Exit 0 if the marker was seen.
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
machine=pc
memory=256
timeout_s=300
kernel=
while (($#)); do
  case $1 in
    -M) machine=$2; shift 2 ;;
    -m) memory=$2; shift 2 ;;
    -t) timeout_s=$2; shift 2 ;;
    -k) kernel=$2; shift 2 ;;
    *) echo "l2-boot-test: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

[[ -c /dev/kvm ]] || { echo "l2-boot-test: no /dev/kvm" >&2; exit 1; }
# with-nested-kvm.sh exports where the cached Debian kernel is; outside it,
# ask the cache. Default: the bzImage (as a real boot would); -k to override.
if [[ -z $kernel ]]; then
  kdir=${KVRUN_NESTED_KERNEL_DIR:-}
  if [[ -z $kdir ]]; then read -r k _ < <("$here/build-l1.sh"); kdir=${k%/*}; fi
  kernel=$kdir/vmlinuz
fi

tmp=$(mktemp -d)
qpid=
cleanup() {
  [[ -n $qpid ]] && kill "$qpid" 2>/dev/null || true
  rm -rf -- "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/root"/{bin,proc,sys,dev}
cp /bin/busybox "$tmp/root/bin/busybox"
ln -s busybox "$tmp/root/bin/sh"
cat >"$tmp/root/init" <<'EOF'
#!/bin/sh
/bin/busybox mount -t proc proc /proc
echo "L2-LINUX-UP uptime=$(/bin/busybox cut -d' ' -f1 /proc/uptime) $(/bin/busybox uname -r)"
/bin/busybox poweroff -f
EOF
chmod 0755 "$tmp/root/init"
(cd "$tmp/root" && find . -print0 | cpio -0 -o -H newc --quiet -R 0:0) >"$tmp/initrd.cpio"

case $machine in
  microvm) mopts=(-M microvm,isa-serial=on,pit=off,pic=off,rtc=off) ;;
  *) mopts=(-M "$machine") ;;
esac

start=$(date +%s%N)
timeout -k 5 "$timeout_s" qemu-system-x86_64 -nodefaults -no-user-config -display none -no-reboot \
  -accel kvm -cpu host "${mopts[@]}" -smp 1 -m "$memory" \
  -kernel "$kernel" -initrd "$tmp/initrd.cpio" \
  -append "console=ttyS0 panic=-1 quiet loglevel=4" \
  -serial "file:$tmp/console.log" </dev/null &
qpid=$!
rc=0
wait "$qpid" || rc=$?
qpid=
end=$(date +%s%N)
cat "$tmp/console.log"
ms=$(((end - start) / 1000000))
if grep -q 'L2-LINUX-UP' "$tmp/console.log"; then
  echo "l2-boot-test: OK: L2 Linux (${kernel##*/}, $machine, -accel kvm) booted and powered off in $ms ms wall"
else
  echo "l2-boot-test: FAIL: no marker from L2 (qemu exit $rc, $ms ms)" >&2
  exit 1
fi
