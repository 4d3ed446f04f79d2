#!/usr/bin/env bash
# virtio-net vs veth: TCP throughput of one stream each way, printed side by side
# (kvrun-net-bench, see net_bench.cpp). Needs root.
#
# Usage: bench/io/net/run.sh [--mib N] [--build-dir DIR]
#   --mib N        MiB per direction (default 256)
#   --build-dir    kvrun build directory (default: $KVRUN_BUILD_DIR or <repo>/build)
# Without /dev/kvm it runs inside scripts/with-nested-kvm.sh (numbers then are functional
# only). The nested L1 kernel needs tun.ko and veth.ko: set KVRUN_NET_MODULES to a directory
# holding both (see docs/virtio-net.md) until scripts/nested loads them itself.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
build_dir=${KVRUN_BUILD_DIR:-$repo/build}
mib=256
while (($#)); do
  case $1 in
    --mib) mib=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    *) sed -n '/^# Usage:/,/^# only/{s/^# \{0,1\}//p}' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
  esac
done
bench=$build_dir/tests/vm/virtio-net/kvrun-net-bench
[[ -x $bench ]] || { echo "bench/io/net: build kvrun-net-bench first ($bench)" >&2; exit 1; }

if [[ -c /dev/kvm ]]; then
  exec "$bench" --mib "$mib"
fi
load=
if [[ -n ${KVRUN_NET_MODULES:-} ]]; then
  load="busybox insmod $KVRUN_NET_MODULES/tun.ko && busybox insmod $KVRUN_NET_MODULES/veth.ko && "
fi
cd "$repo"
exec scripts/with-nested-kvm.sh --timeout 1200 -- sh -c "${load}$bench --mib $mib"
