#!/usr/bin/env bash
# Container network throughput: the same TCP transfer between this host and a container, over
# the same veth pair, done by runc, crun and kvrun side by side (docs/bench.md). The container's
# network namespace holds one end of the veth (10.210.0.2/24), the host the other
# (10.210.0.1/24). runc and crun put the container's process straight into that namespace;
# kvrun puts a VM there, its tap mirrored to the veth (docs/networking.md).
#
#   to container    the host sends --size MiB, the container receives
#   from container  the container sends, the host receives
#
# Both ends run bench/io/net/blast.cpp (built static, copied into the busybox rootfs); the
# figure is the host's, timed from the connection to the last byte, so a VM's boot does not
# count.
#
# Usage: bench/net/run.sh [--runs N] [--size MiB] [--runtimes a,b] [--json FILE] [--build-dir DIR]
#   --runs N          transfers per runtime and direction; the median is shown (default 3)
#   --size MiB        data per transfer (default 256, 32 under nested KVM)
#   --runtimes a,b    which of runc, crun, kvrun (default: all three)
#   --json FILE       also write the table as JSON (not under /tmp when running nested)
#   --build-dir DIR   kvrun build directory (default: $KVRUN_BUILD_DIR or <repo>/build)
# Without /dev/kvm the whole script reruns inside scripts/with-nested-kvm.sh: everything is then
# emulated, and the figures only show that the path works.
# Exit status: 0 measured, 1 a run failed, 2 bad usage, 125 the nested VM could not start.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
me=bench/net
runs=3
size=
runtimes=runc,crun,kvrun
json=
build_dir=${KVRUN_BUILD_DIR:-$repo/build}
args=("$@")

# shellcheck source=bench/lib/common.sh
source "$repo/bench/lib/common.sh"

while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs N}; shift 2 ;;
    --size) size=${2:?--size needs MiB}; shift 2 ;;
    --runtimes) runtimes=${2:?--runtimes needs names}; shift 2 ;;
    --json) json=${2:?--json needs a file}; shift 2 ;;
    --build-dir) build_dir=${2:?--build-dir needs a path}; shift 2 ;;
    -h | --help) usage ;;
    *) echo "$me: unknown argument '$1'" >&2; usage ;;
  esac
done
positive --runs "$runs"
[[ -z $size ]] || positive --size "$size"
IFS=, read -ra chosen <<<"$runtimes"
for runtime in "${chosen[@]}"; do
  [[ $runtime =~ ^(runc|crun|kvrun)$ ]] || die "--runtimes: unknown runtime '$runtime'"
done
[[ $EUID -eq 0 ]] || die "needs root (network namespaces, veth pairs, rootful containers)"
build_dir=$(cd "$build_dir" 2>/dev/null && pwd) || die "--build-dir: no directory $build_dir"

# --- where to run --------------------------------------------------------------------------------
nested=${KVRUN_BENCH_NET_NESTED:-0}
if [[ " ${chosen[*]} " == *" kvrun "* && -n $(kvm_error) ]] && ((!nested)); then
  echo "$me: no /dev/kvm here; running inside the nested VM (QEMU TCG): functional numbers only"
  [[ $PWD != /tmp* ]] || cd "$repo"
  export KVRUN_BENCH_NET_NESTED=1 KVRUN_BUILD_DIR=$build_dir
  exec "$repo/scripts/with-nested-kvm.sh" --private-tmp --timeout 1800 --idle-timeout 600 -- \
    "$repo/bench/net/run.sh" "${args[@]}"
fi
[[ -n $size ]] || size=$( ((nested)) && echo 32 || echo 256)
bytes=$((size * 1024 * 1024))

blast=$build_dir/tests/vm/virtio-net/kvrun-blast
kvrun=$build_dir/shim/cli/kvrun
export KVRUN_VMM=$build_dir/vmm/kvrun-vmm
export KVRUN_INITRD=$build_dir/guest-rootfs/initramfs.cpio.gz
for file in "$blast" "$kvrun" "$KVRUN_VMM" "$KVRUN_INITRD"; do
  [[ -e $file ]] || die "$file missing: cmake --build $build_dir --target kvrun-blast kvrun kvrun-vmm initramfs"
done
for tool in busybox ip; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs it)"
done
if [[ " ${chosen[*]} " == *" kvrun "* ]]; then
  if [[ -z ${KVRUN_KERNEL:-} ]]; then
    KVRUN_KERNEL=$("$repo/kernel-config/build-kernel.sh" --print-path 2>/dev/null | tail -n 1) || true
  fi
  [[ -r ${KVRUN_KERNEL:-} ]] || die "guest kernel not found: set KVRUN_KERNEL or run kernel-config/build-kernel.sh"
  export KVRUN_KERNEL
fi

# --- the veth pair, the bundle, and undoing both --------------------------------------------------
work=$(mktemp -d /tmp/kvrun-bench-net.XXXXXX)
netns=kvrun-bench-net-$$
host_if=kvbn$$
host_ip=10.210.0.1
port=5201
mounted_cgroup=0
started=() # "runtime id" of every container run, for the cleanup
cleanup() {
  local entry
  for entry in "${started[@]}"; do
    runtime_cmd "${entry% *}" delete --force "${entry#* }" >/dev/null 2>&1 || true
  done
  ip link del "$host_if" 2>/dev/null || true
  ip netns del "$netns" 2>/dev/null || true
  ((mounted_cgroup)) && umount /sys/fs/cgroup 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# runtime_cmd RUNTIME ARGS...: the runtime with a state root of its own under $work.
runtime_cmd() {
  case $1 in
    runc | crun) "$1" --root "$work/state/$1" "${@:2}" ;;
    kvrun) "$kvrun" --root "$work/state/kvrun" --rootfs-cache "$work/rootfs-cache" "${@:2}" ;;
  esac
}

# runc and crun need cgroup v2 at /sys/fs/cgroup; the nested VM has nothing mounted there.
if [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) != cgroup2fs ]] && ((nested)) &&
  ! mountpoint -q /sys/fs/cgroup; then
  mount -t cgroup2 none /sys/fs/cgroup || die "cannot mount cgroup2 on /sys/fs/cgroup"
  mounted_cgroup=1
fi

ip netns add "$netns"
ip link add "$host_if" type veth peer name eth0 netns "$netns"
ip addr add "$host_ip/24" dev "$host_if"
ip link set "$host_if" up
ip -n "$netns" addr add 10.210.0.2/24 dev eth0
ip -n "$netns" link set eth0 up
ip -n "$netns" link set lo up

rootfs=$work/rootfs
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp"
cp "$(command -v busybox)" "$rootfs/bin/busybox"
ln -s busybox "$rootfs/bin/sh"
cp "$blast" "$rootfs/bin/blast"
# bundle DIRECTION: config.json running the container's end of the transfer.
bundle() {
  local mode=$1
  mkdir -p "$work/bundle-$mode"
  cat >"$work/bundle-$mode/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {"args": ["/bin/blast", "$mode", "$host_ip", "$port", "$bytes"], "env": ["PATH=/bin"],
              "cwd": "/", "user": {"uid": 0, "gid": 0}},
  "root": {"path": "$rootfs"},
  "hostname": "bench-net",
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"},
                           {"type": "network", "path": "/var/run/netns/$netns"}]}
}
JSON
}
bundle recv
bundle send

# transfer RUNTIME ID HOST_MODE CONTAINER_MODE: one transfer; prints the host's MB/s. (Runs in
# a command substitution: the caller records ID in `started`.)
transfer() {
  local runtime=$1 id=$2 host_mode=$3 container_mode=$4 listener result
  "$blast" "$host_mode" "$host_ip" "$port" "$bytes" --listen >"$work/host.out" 2>&1 &
  listener=$!
  if ! runtime_cmd "$runtime" run --bundle "$work/bundle-$container_mode" "$id" \
    </dev/null >"$work/container.out" 2>&1; then
    kill "$listener" 2>/dev/null || true
    tail -5 "$work/container.out" >&2
    die "$runtime: the container's blast $container_mode failed"
  fi
  wait "$listener" || { cat "$work/host.out" >&2; die "$runtime: the host's blast $host_mode failed"; }
  result=$(awk '/^blast:/ { print $(NF - 1) }' "$work/host.out")
  [[ -n $result ]] || die "$runtime: no figure in: $(cat "$work/host.out")"
  echo "$result"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

declare -A to_container=() from_container=()
for runtime in "${chosen[@]}"; do
  command -v "${runtime/kvrun/$kvrun}" >/dev/null || die "$runtime not found (scripts/setup.sh installs it)"
  to=() from=()
  for ((i = 0; i < runs; i++)); do
    echo "$me: $runtime run $((i + 1))/$runs ... (at ${SECONDS} s)" >&2
    started+=("$runtime bench-net-$runtime-to-$i" "$runtime bench-net-$runtime-from-$i")
    to+=("$(transfer "$runtime" "bench-net-$runtime-to-$i" send recv)")
    from+=("$(transfer "$runtime" "bench-net-$runtime-from-$i" recv send)")
  done
  to_container[$runtime]=$(printf '%s\n' "${to[@]}" | median)
  from_container[$runtime]=$(printf '%s\n' "${from[@]}" | median)
done

# Nothing of the runtimes may stay on the veth's namespace: kvrun's tap and qdiscs went with
# its container.
left=$(ip -n "$netns" -o link show | awk -F': ' '$2 != "lo" && $2 !~ /^eth0@/ { print $2 }')
[[ -z $left ]] || die "interfaces left in the namespace: $left"
[[ -z $(tc -n "$netns" qdisc show dev eth0 ingress 2>/dev/null) ]] || die "ingress qdisc left on eth0"

# --- output ---------------------------------------------------------------------------------------
printf '%-16s' "MB/s, median"
for runtime in "${chosen[@]}"; do printf ' %10s' "$runtime"; done
printf '\n'
for direction in to from; do
  printf '%-16s' "$direction container"
  for runtime in "${chosen[@]}"; do
    if [[ $direction == to ]]; then printf ' %10s' "${to_container[$runtime]}"
    else printf ' %10s' "${from_container[$runtime]}"; fi
  done
  printf '\n'
done
echo "($runs runs of $size MiB each way; one veth pair for every runtime)"
((nested)) && echo "(nested KVM under QEMU TCG: functional numbers, not speed)"

if [[ -n $json ]]; then
  {
    printf '{\n  "runs": %s,\n  "size_mib": %s,\n  "nested_kvm_on_tcg": %s,\n  "mb_per_s": {' \
      "$runs" "$size" "$( ((nested)) && echo true || echo false)"
    sep=
    for runtime in "${chosen[@]}"; do
      printf '%s\n    "%s": {"to_container": %s, "from_container": %s}' "$sep" "$runtime" \
        "${to_container[$runtime]}" "${from_container[$runtime]}"
      sep=,
    done
    printf '\n  }\n}\n'
  } >"$json" || die "cannot write $json"
  echo "JSON: $json"
fi
