#!/usr/bin/env bash
# Packs an initramfs for a VM test: busybox-static with its applets, guest-exit, the shared
# prelude, the test's init script as /init, and any extra files.
#
#   build-test-initramfs.sh OUTPUT.cpio.gz BUSYBOX GUEST_EXIT PRELUDE INIT_SCRIPT [SRC=DEST ...]
#
# DEST is a path inside the guest ("/bin/vsock-test"); files keep their mode. Reproducible like
# guest-rootfs/build-initramfs.sh: sorted names, owner 0, mtime 0, gzip -n.
set -euo pipefail

if (($# < 5)); then
  echo "usage: $0 OUTPUT.cpio.gz BUSYBOX GUEST_EXIT PRELUDE INIT_SCRIPT [SRC=DEST ...]" >&2
  exit 2
fi
output=$1 busybox=$2 guest_exit=$3 prelude=$4 init=$5
shift 5

staging=$(mktemp -d "${TMPDIR:-/tmp}/kvrun-test-initramfs.XXXXXX")
trap 'rm -rf "$staging"' EXIT

for dir in bin sbin dev proc sys tmp run lib/kvrun; do
  install -d -m 0755 "$staging/$dir"
done
chmod 1777 "$staging/tmp"
install -m 0755 "$busybox" "$staging/bin/busybox"
# The applets are linked at boot (busybox --install -s); /bin/sh must exist before that.
ln -s busybox "$staging/bin/sh"
install -m 0755 "$guest_exit" "$staging/bin/guest-exit"
install -m 0644 "$prelude" "$staging/lib/kvrun/prelude.sh"
install -m 0755 "$init" "$staging/init"
for spec in "$@"; do
  src=${spec%%=*}
  dest=${spec#*=}
  if [[ $spec != *=* || -z $src || $dest != /* ]]; then
    echo "build-test-initramfs: $spec: expected SRC=/absolute/guest/path" >&2
    exit 2
  fi
  [[ -f $src ]] || { echo "build-test-initramfs: $src: no such file" >&2; exit 1; }
  install -D -m "$(stat -c %a "$src")" "$src" "$staging$dest"
done
chmod 0755 "$staging"
find "$staging" -exec touch -h -d @0 {} +

tmp_output="$output.tmp.$$"
(
  cd "$staging"
  find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    cpio --quiet -o -H newc --owner=0:0 --reproducible
) | gzip -6 -n >"$tmp_output"
mv "$tmp_output" "$output"
