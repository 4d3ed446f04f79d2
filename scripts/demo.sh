#!/usr/bin/env bash
# Installs what kvrun needs, builds it and the guest (kernel cached), and boots the demo microVM:
# our kernel with the kvrun initramfs, whose /init prints its ready line and stops the VM.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${KVRUN_BUILD_DIR:-$repo/build}

"$repo/scripts/setup.sh"
KVRUN_BUILD_DIR=$build_dir "$repo/scripts/build.sh"
kernel=$("$repo/kernel-config/build-kernel.sh" | tail -n 1)
initramfs=$build_dir/guest-rootfs/initramfs.cpio.gz

run_vm=("$build_dir/vmm/kvrun-vmm" --kernel "$kernel" --initrd "$initramfs" --memory 256
        --timeout 600)
if [[ -c /dev/kvm ]]; then
  exec "${run_vm[@]}"
fi
# No /dev/kvm (as on our own machines, docs/machine.md): boot inside a nested VM that has one.
# It says in one line why, if it cannot start.
echo "demo: no /dev/kvm here; booting inside a nested VM that has one (slow: emulated CPU)" >&2
exec "$repo/scripts/with-nested-kvm.sh" --timeout 600 -- "${run_vm[@]}"
