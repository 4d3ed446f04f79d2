#!/usr/bin/env bash
# Test (ctest label unit): build-initramfs.sh is reproducible and packs exactly what the agent as /init needs.
#   check-initramfs.sh INIT_BINARY
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
init=${1:?usage: check-initramfs.sh INIT_BINARY}
work=$(mktemp -d "${TMPDIR:-/tmp}/kvrun-initramfs-check.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$here/build-initramfs.sh" "$init" "$work/a.cpio.gz"
cp "$init" "$work/init"  # a copy has a new mtime, which must not change the archive
"$here/build-initramfs.sh" "$work/init" "$work/b.cpio.gz"
if ! cmp -s "$work/a.cpio.gz" "$work/b.cpio.gz"; then
  echo "check-initramfs: two builds from the same init differ" >&2
  exit 1
fi

listing=$(gzip -dc "$work/a.cpio.gz" | cpio -itv --quiet | awk '{ print $1, $3, $4, $NF }')
expected="drwxr-xr-x root root dev
-rwxr-xr-x root root init
drwxr-xr-x root root proc
drwxr-xr-x root root run
drwxr-xr-x root root sys
drwxrwxrwt root root tmp"
if [[ $listing != "$expected" ]]; then
  printf 'check-initramfs: unexpected content:\n%s\nexpected:\n%s\n' "$listing" "$expected" >&2
  exit 1
fi
if ! gzip -dc "$work/a.cpio.gz" | cpio -i --quiet --to-stdout init | cmp -s - "$init"; then
  echo "check-initramfs: /init in the archive is not $init" >&2
  exit 1
fi
echo "check-initramfs: ok ($(stat -c %s "$work/a.cpio.gz") bytes)"
