#!/usr/bin/env bash
# Post-build check of a test guest ELF: loadable where kvrun-vmm expects it and free of int3.
set -euo pipefail
elf=$1
loads=0
while read -r type _offset _vaddr paddr _rest; do
  [[ $type == LOAD ]] || continue
  loads=$((loads + 1))
  if ((paddr < 0x100000)); then
    echo "check-guest: $elf: PT_LOAD at p_paddr $paddr is below 1 MiB" >&2
    exit 1
  fi
done < <(readelf -lW "$elf")
if ((loads == 0)); then
  echo "check-guest: $elf: no PT_LOAD segment" >&2
  exit 1
fi
if objdump -d "$elf" | grep -qw int3; then
  echo "check-guest: $elf: contains int3" >&2
  exit 1
fi
