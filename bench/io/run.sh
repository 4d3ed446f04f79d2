#!/usr/bin/env bash
# I/O throughput of kvrun-vmm's virtio devices next to the host doing the same I/O, side by side.
# Each section (bench/io/sections/<name>.sh) measures one device and reports rows through
# `report`; adding a device's benchmark is adding one file there.
#
#   blk   virtio-blk sequential read: guest `dd if=/dev/vda of=/dev/null bs=1M` after dropping
#         the guest's page cache, vs the host's dd of the same image file; the host's page
#         cache is dropped before either (the goal is guest >= 70% of host)
#
# Without /dev/kvm the whole script reruns inside scripts/with-nested-kvm.sh: everything then
# runs under QEMU's emulator, and the numbers show only that the path works, not its speed.
#
# Usage: bench/io/run.sh [--runs N] [--size MiB] [--sections a,b] [--kernel PATH]
#                        [--build-dir DIR] [--json FILE]
#   --runs N        measurements per row; the median is shown (default 3)
#   --size MiB      data moved per measurement (default 256, 64 under nested KVM)
#   --sections a,b  which sections to run (default: all in bench/io/sections/)
#   --kernel PATH   guest kernel (default: $KVRUN_KERNEL, else kernel-config/build-kernel.sh)
#   --build-dir DIR kvrun build directory (default: $KVRUN_BUILD_DIR or <repo>/build)
#   --json FILE     also write the table to FILE as JSON (FILE must not be under /tmp when
#                   running nested)
# Exit status: 0 measured, 1 a run failed, 125 the nested VM could not start.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
me=bench/io
runs=3
size=
sections=
kernel=${KVRUN_KERNEL:-}
build_dir=${KVRUN_BUILD_DIR:-$repo/build}
json=
args=("$@")

# shellcheck source=bench/lib/common.sh
source "$repo/bench/lib/common.sh"

while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs N}; shift 2 ;;
    --size) size=${2:?--size needs MiB}; shift 2 ;;
    --sections) sections=${2:?--sections needs names}; shift 2 ;;
    --kernel) kernel=${2:?--kernel needs a path}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a path}; shift 2 ;;
    --json) json=${2:?--json needs a file}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "$me: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive number, got '$runs'"
[[ -z $size || $size =~ ^[1-9][0-9]*$ ]] || die "--size must be a positive number of MiB"
[[ $EUID -eq 0 ]] || die "needs root (drops the page cache between runs)"

# --- where to run --------------------------------------------------------------------------------
nested=${KVRUN_BENCH_IO_NESTED:-0}
if [[ ! -c /dev/kvm ]] && ((!nested)); then
  echo "$me: no /dev/kvm here; running inside the nested VM (QEMU TCG): functional numbers only"
  [[ $PWD != /tmp* ]] || cd "$repo"
  export KVRUN_BENCH_IO_NESTED=1 KVRUN_KERNEL=$kernel KVRUN_BUILD_DIR=$build_dir
  exec "$repo/scripts/with-nested-kvm.sh" --private-tmp --timeout 1800 -- \
    "$repo/bench/io/run.sh" "${args[@]}"
fi
[[ -n $size ]] || size=$(((nested)) && echo 64 || echo 256)

if [[ -z $kernel ]]; then
  kernel=$("$repo/kernel-config/build-kernel.sh" --print-path 2>/dev/null) ||
    die "no guest kernel: set KVRUN_KERNEL or build one with kernel-config/build-kernel.sh"
fi
vmm=$build_dir/vmm/kvrun-vmm
guest_exit=$build_dir/tests/guest/kvrun-guest-exit
[[ -x $vmm ]] || die "no $vmm: build kvrun-vmm first"
[[ -x $guest_exit ]] || die "no $guest_exit: build the kvrun-guest-exit target first"
busybox=$(command -v busybox) || die "busybox-static is not installed"

work=$(mktemp -d /tmp/kvrun-bench-io.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- helpers for sections -------------------------------------------------------------------------
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# guest_initramfs NAME SCRIPT [SRC=DEST...]: packs SCRIPT as /init of $work/NAME.cpio.gz.
guest_initramfs() {
  local name=$1 script=$2
  shift 2
  "$repo/tests/guest/build-test-initramfs.sh" "$work/$name.cpio.gz" "$busybox" "$guest_exit" \
    "$repo/tests/guest/prelude.sh" "$script" "$@"
  echo "$work/$name.cpio.gz"
}

# run_guest INITRAMFS CMDLINE_EXTRA VMM_ARGS...: boots the guest; its console goes to
# $work/console.log; fails if the guest does not finish with status 0.
run_guest() {
  local initrd=$1 extra=$2
  shift 2
  "$vmm" --kernel "$kernel" --initrd "$initrd" --memory 256 --timeout 600 \
    --cmdline "console=ttyS0 reboot=k panic=1 quiet $extra" "$@" >"$work/console.log" 2>&1 ||
    { tail -20 "$work/console.log" >&2; die "guest run failed (status $?)"; }
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

rows=()
# report NAME GUEST HOST UNIT: one row of the table (higher is better for both columns).
report() {
  rows+=("$1|$2|$3|$4")
}

# --- sections -------------------------------------------------------------------------------------
# (No process substitution: the nested VM's chroot has no /dev/fd.)
available=()
for file in "$repo"/bench/io/sections/*.sh; do
  file=${file##*/}
  available+=("${file%.sh}")
done
[[ -n $sections ]] || sections=$(IFS=,; echo "${available[*]}")
IFS=, read -ra chosen <<<"$sections"
for section in "${chosen[@]}"; do
  [[ -f $repo/bench/io/sections/$section.sh ]] || die "no section '$section' (have: ${available[*]})"
  # shellcheck source=/dev/null
  source "$repo/bench/io/sections/$section.sh"
  "bench_$section"
done

# --- output ---------------------------------------------------------------------------------------
caveat=
((nested)) && caveat="nested KVM under QEMU TCG: functional numbers, not speed"
printf '%-28s %12s %12s %8s %s\n' "" guest host "guest/" ""
printf '%-28s %12s %12s %8s %s\n' "" "" "" host unit
for row in "${rows[@]}"; do
  IFS='|' read -r name guest host unit <<<"$row"
  ratio=$(awk -v g="$guest" -v h="$host" 'BEGIN { if (h > 0) printf "%.0f%%", 100 * g / h; else print "-" }')
  printf '%-28s %12s %12s %8s %s\n' "$name" "$guest" "$host" "$ratio" "$unit"
done
[[ -z $caveat ]] || echo "($caveat)"

if [[ -n $json ]]; then
  {
    printf '{\n  "runs": %s,\n  "size_mib": %s,\n  "nested_kvm_on_tcg": %s,\n  "results": [' \
      "$runs" "$size" "$( ((nested)) && echo true || echo false)"
    first=1
    for row in "${rows[@]}"; do
      IFS='|' read -r name guest host unit <<<"$row"
      ((first)) || printf ','
      first=0
      printf '\n    {"name": "%s", "guest": %s, "host": %s, "unit": "%s"}' "$name" "$guest" "$host" \
        "$unit"
    done
    printf '\n  ]\n}\n'
  } >"$json" || die "cannot write $json"
fi
