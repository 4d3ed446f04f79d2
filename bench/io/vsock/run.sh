#!/usr/bin/env bash
# virtio-vsock throughput: one bulk stream host -> guest (a client of kvrun-vmm's Unix socket
# after "CONNECT 5000") and one guest -> host (the guest connects to port 6000, which lands on
# <uds>_6000), through kvrun-vmm's userspace vsock device. Prints MiB/s as seen by the host and
# by the guest. The guest side is vsock-xfer (tests/guest-tools/vsock) in the vsock VM test's
# initramfs, booted with kvrun.mode=bench.
#
# Usage: bench/io/vsock/run.sh [--bytes N] [--build-dir DIR] [--kernel PATH] [--json FILE]
#   --bytes N      bytes per direction (default 268435456 = 256 MiB)
#   --build-dir    kvrun build directory (default: $KVRUN_BUILD_DIR or <repo>/build); needs the
#                  targets kvrun-vmm and kvrun_vsock_test_initramfs
#   --kernel PATH  guest kernel (default: $KVRUN_KERNEL, else kernel-config/build-kernel.sh)
#   --json FILE    also write the figures as JSON
# Exit status: 0 measured, 1 a run failed, 2 /dev/kvm unavailable (one line says why).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
bytes=268435456
build_dir=${KVRUN_BUILD_DIR:-$repo/build}
kernel=${KVRUN_KERNEL:-}
json=
while (($#)); do
  case $1 in
    --bytes) bytes=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --kernel) kernel=$2; shift 2 ;;
    --json) json=$2; shift 2 ;;
    *) echo "bench/io/vsock: unknown option $1" >&2; exit 1 ;;
  esac
done
[[ $bytes =~ ^[1-9][0-9]*$ ]] || { echo "bench/io/vsock: --bytes must be a positive number" >&2; exit 1; }
if [[ ! -c /dev/kvm ]]; then
  echo "bench/io/vsock: /dev/kvm unavailable (run under scripts/with-nested-kvm.sh --private-tmp)" >&2
  exit 2
fi
[[ -n $kernel ]] || kernel=$("$repo/kernel-config/build-kernel.sh" --print-path)
vmm=$build_dir/vmm/kvrun-vmm
initrd=$build_dir/tests/vm/virtio-vsock/kvrun_vsock_test_initramfs.cpio.gz
for f in "$vmm" "$initrd" "$kernel"; do
  [[ -f $f ]] || { echo "bench/io/vsock: missing $f (build kvrun-vmm and kvrun_vsock_test_initramfs)" >&2; exit 1; }
done
exec python3 "$repo/bench/io/vsock/vsock_bench.py" "$vmm" "$kernel" "$initrd" "$bytes" "$json"
