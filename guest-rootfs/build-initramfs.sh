#!/usr/bin/env bash
# Packs the guest initramfs: the static agent as /init plus the empty mount points it needs.
#
#   build-initramfs.sh INIT_BINARY OUTPUT.cpio.gz
#
# The archive is byte-for-byte reproducible (sorted names, fixed owner, modes and mtimes,
# renumbered inodes, gzip without name or timestamp), so it can be cached by content hash.
# It needs no root: there is no /dev/console node in it — the kernel's built-in initramfs
# already provides one, and the agent mounts devtmpfs on /dev before anything else.
set -euo pipefail

if (($# != 2)); then
  echo "usage: $0 INIT_BINARY OUTPUT.cpio.gz" >&2
  exit 2
fi
init=$1
output=$2
[[ -x $init ]] || { echo "build-initramfs: $init: not an executable" >&2; exit 1; }

staging=$(mktemp -d "${TMPDIR:-/tmp}/kvrun-initramfs.XXXXXX")
trap 'rm -rf "$staging"' EXIT

install -m 0755 "$init" "$staging/init"
for dir in dev proc run sys tmp; do
  install -d -m 0755 "$staging/$dir"
done
chmod 0755 "$staging"
chmod 1777 "$staging/tmp"
find "$staging" -exec touch -h -d @0 {} +

tmp_output="$output.tmp.$$"
(
  cd "$staging"
  find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
    cpio --quiet -o -H newc --owner=0:0 --reproducible
) | gzip -9 -n >"$tmp_output"
mv "$tmp_output" "$output"
