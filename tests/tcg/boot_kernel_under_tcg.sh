#!/usr/bin/env bash
# Boots our guest kernel with our initramfs under QEMU's TCG emulator (no KVM needed) and checks
# that /init (kvrun-agent) mounted the system, listened on vsock, reported the vCPUs it was given
# and powered the VM off as asked (kvrun.init=poweroff-when-ready). This proves the kernel config
# and the agent as PID 1; kvrun-vmm itself is covered by the kvm-labelled tests.
# Usage: boot_kernel_under_tcg.sh <initramfs> <cpus>   (kernel: $KVRUN_KERNEL or the cache)
set -euo pipefail
initramfs=$1
cpus=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)

vmlinux=${KVRUN_KERNEL:-}
if [[ -z $vmlinux ]] && ! vmlinux=$("$repo/kernel-config/build-kernel.sh" --print-path); then
  echo "FAIL: guest kernel not built; run kernel-config/build-kernel.sh" >&2
  exit 1
fi
# QEMU's microvm boots a bzImage (an ELF vmlinux only with a PVH note); the build keeps both.
bzimage=$(dirname "$vmlinux")/bzImage
[[ -f $bzimage ]] || { echo "FAIL: no bzImage beside $vmlinux" >&2; exit 1; }
[[ -f $initramfs ]] || { echo "FAIL: no initramfs at $initramfs" >&2; exit 1; }

console=$(mktemp)
trap 'rm -f "$console"' EXIT
start=$(date +%s.%N)
status=0
timeout --kill-after=10 280 qemu-system-x86_64 \
  -M microvm,x-option-roms=off,isa-serial=on,rtc=off -accel tcg -cpu max -smp "$cpus" -m 256 \
  -nodefaults -no-user-config -nographic -serial stdio -no-reboot \
  -kernel "$bzimage" -initrd "$initramfs" \
  -append "console=ttyS0 reboot=k panic=-1 quiet kvrun.init=poweroff-when-ready" </dev/null >"$console" 2>&1 || status=$?
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
cat "$console"

if [[ $status -ne 0 ]]; then
  echo "FAIL: qemu exited with status $status (124 means it did not stop within 280 s)" >&2
  exit 1
fi
ready=$(grep -a -m1 'kvrun-init: ready' "$console" || true)
if [[ -z $ready ]]; then
  echo "FAIL: no 'kvrun-init: ready' line on the console" >&2
  exit 1
fi
if ! grep -q " cpus=$cpus listen=vsock:1024[[:space:]]*$" <<<"$ready"; then
  echo "FAIL: expected cpus=$cpus listen=vsock:1024 in: $ready" >&2
  exit 1
fi
if grep -a -q 'kvrun-agent: fatal' "$console"; then
  echo "FAIL: the agent reported a fatal error" >&2
  exit 1
fi
echo "PASS: $ready (wall clock under TCG: ${elapsed} s)"
