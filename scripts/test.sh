#!/usr/bin/env bash
# Installs what kvrun needs, builds it, builds the guest kernel (cached) and runs every test.
#
# Test labels: unit (no root, no KVM), tcg (boots our kernel under QEMU's emulator),
# kvm (runs kvrun-vmm on /dev/kvm), linux (kvrun-vmm boots our kernel).
# Where /dev/kvm cannot be opened, the kvm/linux tests run inside a nested VM that has one
# (scripts/with-nested-kvm.sh) if that works here; otherwise they are reported as NOT RUN in a
# banner that names each of them.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${KVRUN_BUILD_DIR:-$repo/build}

"$repo/scripts/setup.sh"
KVRUN_BUILD_DIR=$build_dir "$repo/scripts/build.sh"
KVRUN_KERNEL=$("$repo/kernel-config/build-kernel.sh" | tail -n 1)
export KVRUN_KERNEL

cd "$build_dir"
ctest_args=(--output-on-failure --no-tests=error)

# Opens /dev/kvm read-write without creating it; prints why not on failure.
kvm_usable() {
  [[ -c /dev/kvm ]] || { echo "/dev/kvm: no such character device"; return 1; }
  (exec 3<>/dev/kvm) 2>&1 | sed 's/^.*line [0-9]*: //'
  [[ ${PIPESTATUS[0]} -eq 0 ]]
}

if kvm_error=$(kvm_usable); then
  ctest "${ctest_args[@]}"
  exit
fi

ctest "${ctest_args[@]}" -LE 'kvm|linux'

nested=$repo/scripts/with-nested-kvm.sh
# Time limits for the whole nested VM, several times what its work takes (about 15 s and 90 s),
# so that a stuck emulator fails with a clear line instead of eating CI's time.
if [[ -x $nested ]] && "$nested" --timeout 300 --probe; then
  echo "test: /dev/kvm unavailable here (${kvm_error}); running kvm and linux tests in a nested VM"
  for attempt in 1 2; do
    status=0
    "$nested" --timeout 600 -- ctest "${ctest_args[@]}" -L 'kvm|linux' || status=$?
    # 124/125: the emulated L1 VM itself hung or failed (seen once under heavy host load), not
    # a test: boot it once more. Any other status is ctest's verdict.
    if [[ $status -ne 124 && $status -ne 125 ]] || ((attempt == 2)); then exit "$status"; fi
    echo "test: the nested VM failed (status $status); running the kvm and linux tests again"
  done
fi

cat <<BANNER
=====================================================================================
 test: /dev/kvm unavailable here (${kvm_error:-not present}); the tests that need KVM
 did NOT run on this machine. They are:
$(ctest -N -L 'kvm|linux' | sed -n 's/^ *Test *#[0-9]*: /   /p')
=====================================================================================
BANNER
