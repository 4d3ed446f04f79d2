#!/usr/bin/env bash
# kvrun next to runc and crun, on one busybox bundle, in one run (docs/bench.md). Sections
# (bench/containers/sections/<name>.sh, run in this order) each measure one thing:
#
#   latency      end-to-end `run` of /bin/true and time to first output (`cat /proc/uptime`),
#                interleaved across the runtimes; kvrun's boot phases from its --debug log
#   memory       one idle sandbox (`run -d` of `sleep`) per runtime: RSS, PSS, VMM overhead,
#                guest RAM touched
#   density      idle kvrun sandboxes started until their summed PSS would pass --budget
#   concurrency  --concurrency launches of /bin/true at once per runtime: launches per second
#
# Output: a table on the terminal, JSON (--json) and a PNG chart (--png, gnuplot). Everything
# started is deleted at the end, and the script checks that no container, state directory,
# process, mount or cgroup is left (a leftover fails the run).
#
# Usage: bench/containers/run.sh [--runs N] [--quick] [--budget MiB] [--concurrency N]
#                                [--sections a,b] [--json FILE] [--png FILE] [--build-dir DIR]
#   --runs N         runs per runtime and kind in the latency section (default 30)
#   --quick          smoke mode: 2 sandboxes at most for density, concurrency 2 (with --runs 3)
#   --budget MiB     memory budget for the density section (default 512, 256 nested)
#   --concurrency N  launches at once in the concurrency section (default 4)
#   --sections a,b   which sections to run (default: all)
#   --json FILE      results as JSON (default <build>/bench-containers/results.json)
#   --png FILE       chart (default <build>/bench-containers/results.png; needs gnuplot)
#   --build-dir DIR  kvrun build directory (default: $KVRUN_BUILD_DIR or <repo>/build)
# Needs root, runc, crun, busybox-static, /dev/kvm and the guest kernel ($KVRUN_KERNEL or
# kernel-config/build-kernel.sh). Without /dev/kvm run it inside scripts/with-nested-kvm.sh.
# Exit status: 0 measured, 1 a run failed, 2 /dev/kvm unavailable (one line says why).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$repo/bench/containers
me=bench/containers
runs=30
quick=0
budget_mib=
concurrency=4
sections=latency,memory,density,concurrency
build_dir=${KVRUN_BUILD_DIR:-$repo/build}
json=
png=

# shellcheck source=bench/lib/common.sh
source "$repo/bench/lib/common.sh"

while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs N}; shift 2 ;;
    --quick) quick=1; shift ;;
    --budget) budget_mib=${2:?--budget needs MiB}; shift 2 ;;
    --concurrency) concurrency=${2:?--concurrency needs N}; shift 2 ;;
    --sections) sections=${2:?--sections needs names}; shift 2 ;;
    --json) json=${2:?--json needs a file}; shift 2 ;;
    --png) png=${2:?--png needs a file}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a path}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "$me: unknown argument '$1'" >&2; usage ;;
  esac
done
positive --runs "$runs"
positive --concurrency "$concurrency"
((quick)) && concurrency=$((concurrency < 2 ? concurrency : 2))
# with-nested-kvm.sh sets KVRUN_NESTED=1: everything there is emulated and slow, so the density
# section gets a smaller default budget and the concurrency section one round, for the whole
# run to fit its 1500 s.
nested=0
[[ ${KVRUN_NESTED:-} == 1 ]] && nested=1
budget_mib=${budget_mib:-$( ((nested)) && echo 256 || echo 512)}
positive --budget "$budget_mib"
build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || die "--build-dir: no directory $build_dir"
out_dir=$build_dir/bench-containers
json=${json:-$out_dir/results.json}
png=${png:-$out_dir/results.png}

# --- preconditions -------------------------------------------------------------------------------
kvm_reason=$(kvm_error)
if [[ -n $kvm_reason ]]; then
  echo "$me: /dev/kvm unavailable: $kvm_reason (run it in scripts/with-nested-kvm.sh)"
  exit 2
fi
[[ $EUID -eq 0 ]] || die "needs root (runc and crun run rootful containers)"
for tool in runc crun busybox awk; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs it)"
done
kvrun=$build_dir/shim/cli/kvrun
export KVRUN_VMM=$build_dir/vmm/kvrun-vmm
export KVRUN_INITRD=$build_dir/guest-rootfs/initramfs.cpio.gz
for file in "$kvrun" "$KVRUN_VMM" "$KVRUN_INITRD"; do
  [[ -e $file ]] || die "$file missing: cmake --build $build_dir --target kvrun kvrun-vmm initramfs"
done
if [[ -z ${KVRUN_KERNEL:-} ]]; then
  KVRUN_KERNEL=$("$repo/kernel-config/build-kernel.sh" --print-path 2>/dev/null | tail -n 1) || true
fi
[[ -r ${KVRUN_KERNEL:-} ]] || die "guest kernel not found: set KVRUN_KERNEL or run kernel-config/build-kernel.sh"
export KVRUN_KERNEL

# The measuring tools are standalone; rebuilt only when their source changed.
tools=$out_dir/tools
mkdir -p "$tools"
for name in launch_timer process_memory; do
  binary=$tools/${name//_/-}
  if [[ ! -x $binary || $here/$name.cpp -nt $binary || $repo/bench/boot/smaps.h -nt $binary ]]; then
    c++ -std=c++20 -O2 -Wall -Wextra -Werror -I"$repo" -o "$binary" "$here/$name.cpp" ||
      die "could not build $binary"
  fi
done
timer=$tools/launch-timer
memory_tool=$tools/process-memory

# --- shared state and cleanup ---------------------------------------------------------------------
work=$(mktemp -d /tmp/kvrun-bench-containers.XXXXXX)
data=$work/data
mkdir -p "$data"
# shellcheck source=bench/containers/lib/runtimes.sh
source "$here/lib/runtimes.sh"
# shellcheck source=bench/containers/lib/cleanup.sh
source "$here/lib/cleanup.sh"
# shellcheck source=bench/containers/lib/stats.sh
source "$here/lib/stats.sh"
trap 'cleanup_all; cleanup_final' EXIT
prepare_cgroups
cleanup_snapshot
make_bundles


# --- sections -------------------------------------------------------------------------------------
IFS=, read -ra chosen <<<"$sections"
for section in "${chosen[@]}"; do
  [[ -f $here/sections/$section.sh ]] || die "no section '$section' (latency, memory, density, concurrency)"
done
for section in "${chosen[@]}"; do
  echo "$me: $section ... (at ${SECONDS} s)" >&2
  # shellcheck source=/dev/null
  source "$here/sections/$section.sh"
  "bench_$section"
done

# --- leftovers, then output -----------------------------------------------------------------------
cleanup_check || exit 1
# shellcheck source=bench/containers/lib/report.sh
source "$here/lib/report.sh"
mkdir -p "$(dirname "$json")" "$(dirname "$png")"
report_table
report_json >"$json" || die "cannot write $json"
echo "JSON: $json"
if command -v gnuplot >/dev/null; then
  report_png "$png" && echo "chart: $png"
else
  echo "$me: gnuplot not found (apt-get install gnuplot-nox): no chart"
fi
