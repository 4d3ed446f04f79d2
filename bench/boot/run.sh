#!/usr/bin/env bash
# Boot latency and memory of kvrun-vmm next to QEMU microvm, same kernel, same initramfs.
#
# Latency: from just before the VMM process is spawned to "kvrun-init: ready" on its serial
# console (median and p95 over N runs). Memory, sampled with the VMM stopped at the ready line
# (/proc/<pid>/smaps, see smaps.h): "VMM overhead" is its RSS without guest RAM, "guest RAM
# touched" the RSS of guest RAM; the two add up to "RSS at ready". All three come from the run
# with the largest overhead. "peak RSS" is ru_maxrss over the whole life of the process, guest
# RAM included, the largest over all runs.
#
# Usage: bench/boot/run.sh [--runs N] [--tcg] [--kernel PATH] [--initrd PATH]
#                          [--build-dir DIR] [--memory MiB] [--json FILE]
#   --runs N       boots per VMM (default 20)
#   --tcg          also measure QEMU under TCG (labelled as such); without /dev/kvm this is
#                  the only column measured, and the exit status stays 2
#   --kernel PATH  guest kernel (default: $KVRUN_KERNEL, else kernel-config/build-kernel.sh)
#   --initrd PATH  initramfs (default: <build>/guest-rootfs/initramfs.cpio.gz)
#   --build-dir    kvrun build directory (default: $KVRUN_BUILD_DIR or <repo>/build)
#   --memory MiB   guest memory for both VMMs (default 128)
#   --json FILE    also write the figures of the table to FILE as JSON
# Exit status: 0 measured, 1 a run failed, 2 /dev/kvm unavailable (one line says why).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
me=bench/boot
runs=20
tcg=0
kernel=${KVRUN_KERNEL:-}
initrd=
build_dir=${KVRUN_BUILD_DIR:-$repo/build}
memory=128
json=
readonly ready_line="kvrun-init: ready"
# panic=1: a panicking guest reboots, which ends either VMM instead of hanging the bench.
# After the ready line the agent (PID 1) stops the VM, as kvrun.init=poweroff-when-ready asks.
# kvrun-vmm ends on the exit port or an i8042 reset (reboot=k); QEMU microvm has no i8042,
# so there Linux would spin ~10 s per boot polling a missing keyboard controller before it fell
# back to a triple fault — reboot=t goes straight to the triple fault, which -no-reboot turns into QEMU's exit. Neither changes the latency,
# which ends at the ready line.
readonly kvrun_cmdline="console=ttyS0 reboot=k panic=1 kvrun.init=poweroff-when-ready"
readonly qemu_cmdline="console=ttyS0 reboot=t panic=1 kvrun.init=poweroff-when-ready"

# shellcheck source=bench/lib/common.sh
source "$repo/bench/lib/common.sh"

while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs N}; shift 2 ;;
    --tcg) tcg=1; shift ;;
    --kernel) kernel=${2:?--kernel needs a path}; shift 2 ;;
    --initrd) initrd=${2:?--initrd needs a path}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a path}; shift 2 ;;
    --memory) memory=${2:?--memory needs MiB}; shift 2 ;;
    --json) json=${2:?--json needs a file}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "$me: unknown argument '$1'" >&2; usage ;;
  esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive number, got '$runs'"
[[ $memory =~ ^[1-9][0-9]*$ ]] || die "--memory must be a positive number of MiB, got '$memory'"

kvm_reason=$(kvm_error)
if [[ -n $kvm_reason ]]; then
  echo "$me: /dev/kvm unavailable: $kvm_reason"
  ((tcg)) || exit 2
fi

# --- inputs ------------------------------------------------------------------------------------
if [[ -z $kernel ]]; then
  kernel=$("$repo/kernel-config/build-kernel.sh" --print-path 2>/dev/null | tail -n 1) || true
  [[ -r $kernel ]] ||
    die "guest kernel not built (expected ${kernel:-?}); run kernel-config/build-kernel.sh or pass --kernel"
fi
[[ -r $kernel ]] || die "$kernel: not readable"
initrd=${initrd:-$build_dir/guest-rootfs/initramfs.cpio.gz}
[[ -r $initrd ]] || die "$initrd: missing; build it with: cmake --build $build_dir --target initramfs"

vmm=
if [[ -z $kvm_reason ]]; then
  for candidate in "$build_dir/vmm/kvrun-vmm" "$build_dir/kvrun-vmm"; do
    [[ -x $candidate ]] && { vmm=$candidate; break; }
  done
  [[ -n $vmm ]] || vmm=$(find "$build_dir" -name kvrun-vmm -type f -perm -u+x -print -quit 2>/dev/null)
  [[ -n $vmm ]] || die "kvrun-vmm not found under $build_dir; build it with: cmake --build $build_dir"
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (scripts/setup.sh installs it)"

# The measuring tool is standalone; rebuild it only when its source changed.
tool_dir=$build_dir/bench-boot
tool=$tool_dir/boot-latency
if [[ ! -x $tool || $repo/bench/boot/boot_latency.cpp -nt $tool ||
  $repo/bench/boot/smaps.h -nt $tool ]]; then
  mkdir -p "$tool_dir"
  c++ -std=c++20 -O2 -Wall -Wextra -Werror -o "$tool" "$repo/bench/boot/boot_latency.cpp" ||
    die "could not build $tool"
fi

qemu_args=(-M "microvm,x-option-roms=off,isa-serial=on,rtc=off" -nodefaults -no-user-config
  -nographic -serial stdio -kernel "$kernel" -initrd "$initrd" -append "$qemu_cmdline"
  -m "$memory" -no-reboot)

# --- measure -----------------------------------------------------------------------------------
labels=()
results=()
measure() { # LABEL TIMEOUT COMMAND...
  local label=$1 timeout=$2
  shift 2
  echo "$me: $label: $runs boots ..." >&2
  local out
  out=$("$tool" --runs "$runs" --ready "$ready_line" --timeout "$timeout" --guest-mib "$memory" \
    -- "$@") || exit 1
  labels+=("$label")
  results+=("$out")
}

if [[ -z $kvm_reason ]]; then
  measure "kvrun-vmm (KVM)" 60 "$vmm" --kernel "$kernel" --initrd "$initrd" \
    --cmdline "$kvrun_cmdline" --memory "$memory" --timeout 60
  measure "qemu microvm (KVM)" 60 qemu-system-x86_64 -accel kvm -cpu host "${qemu_args[@]}"
fi
if ((tcg)); then
  measure "qemu microvm (TCG)" 300 qemu-system-x86_64 -accel tcg -cpu max "${qemu_args[@]}"
fi

# --- report ------------------------------------------------------------------------------------
field() { # RESULT NAME
  local kv
  for kv in $1; do
    if [[ ${kv%%=*} == "$2" ]]; then echo "${kv#*=}"; fi
  done
}
mib() { awk -v kib="$1" 'BEGIN { printf "%.1f", kib / 1024 }'; }
# with-nested-kvm.sh sets KVRUN_NESTED=1: KVM there runs on emulated (TCG) SVM, so times are
# many times slower than on hardware and only show that the bench works.
caveat=
if [[ ${KVRUN_NESTED:-} == 1 ]]; then
  caveat="nested KVM on QEMU TCG (scripts/with-nested-kvm.sh):"
  caveat+=" functional numbers only, not real speed"
fi

echo
echo "boot to \"$ready_line\": $runs runs each, ${memory} MiB guest, kernel $kernel"
echo "cmdline: kvrun-vmm \"$kvrun_cmdline\", QEMU \"$qemu_cmdline\""
[[ -z $caveat ]] || echo "NOTE: $caveat"
printf '%-20s %9s %9s %13s %12s %10s %10s\n' "" "median" "p95" "VMM overhead" "guest RAM" \
  "RSS at" "peak RSS"
printf '%-20s %9s %9s %13s %12s %10s %10s\n' "" "ms" "ms" "MiB" "touched MiB" "ready MiB" "MiB"
notes=()
for i in "${!labels[@]}"; do
  r=${results[$i]}
  mark=
  if [[ $(field "$r" guest_ram_by) == size ]]; then
    mark="*"
    notes=("* guest RAM found by size (anonymous mapping of ~${memory} MiB), not by name")
  fi
  printf '%-20s %9s %9s %13s %12s %10s %10s\n' "${labels[$i]}" "$(field "$r" median_ms)" \
    "$(field "$r" p95_ms)" "$(mib "$(field "$r" overhead_kib)")$mark" \
    "$(mib "$(field "$r" guest_rss_kib)")" "$(mib "$(field "$r" ready_rss_kib)")" \
    "$(mib "$(field "$r" max_rss_kib)")"
done
for note in "${notes[@]}"; do echo "$note"; done
echo "VMM overhead + guest RAM touched = RSS at ready (VMM stopped at the ready line, run with"
echo "the largest overhead); peak RSS: whole process life, guest RAM included, largest run."

if [[ -n $json ]]; then
  json_string() { # escapes \ and " for a JSON string
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
  }
  {
    printf '{\n  "ready_line": %s,\n  "runs": %s,\n  "guest_memory_mib": %s,\n' \
      "$(json_string "$ready_line")" "$runs" "$memory"
    printf '  "kernel": %s,\n  "initrd": %s,\n' "$(json_string "$kernel")" \
      "$(json_string "$initrd")"
    printf '  "nested_kvm_on_tcg": %s,\n' "$([[ -n $caveat ]] && echo true || echo false)"
    printf '  "results": ['
    for i in "${!labels[@]}"; do
      r=${results[$i]}
      ((i == 0)) || printf ','
      printf '\n    {"vmm": %s, "median_ms": %s, "p95_ms": %s, "vmm_overhead_kib": %s,' \
        "$(json_string "${labels[$i]}")" "$(field "$r" median_ms)" "$(field "$r" p95_ms)" \
        "$(field "$r" overhead_kib)"
      printf ' "guest_ram_touched_kib": %s, "rss_at_ready_kib": %s, "peak_rss_kib": %s,' \
        "$(field "$r" guest_rss_kib)" "$(field "$r" ready_rss_kib)" "$(field "$r" max_rss_kib)"
      printf ' "guest_ram_found_by": %s}' "$(json_string "$(field "$r" guest_ram_by)")"
    done
    printf '\n  ]\n}\n'
  } >"$json" || die "cannot write $json"
fi
if [[ -n $kvm_reason ]]; then
  echo "kvrun-vmm and QEMU/KVM not measured: /dev/kvm unavailable: $kvm_reason"
  exit 2
fi
