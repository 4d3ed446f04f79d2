# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/demo.sh: what kind of /dev/kvm this machine has.

# Opens /dev/kvm read-write without creating it (as root, bash's <> on a missing path makes a
# regular file); prints why not on failure.
kvm_usable() {
  [[ -c /dev/kvm ]] || { echo "/dev/kvm: no such character device"; return 1; }
  (exec 3<>/dev/kvm) 2>&1 | sed 's/^.*line [0-9]*: //'
  [[ ${PIPESTATUS[0]} -eq 0 ]]
}

# KVM's PVM backend rather than VMX/SVM (the test vmm/kvm/host_kind.cpp makes).
pvm_host() {
  [[ -e /sys/module/kvm_pvm && ! -e /sys/module/kvm_intel && ! -e /sys/module/kvm_amd ]]
}

# /dev/kvm opens and can run our Linux guest; prints why not on failure. PVM runs our test
# guests, but emulates an unmodified Linux guest so slowly that it does not reach init in
# minutes (docs/machine.md), so Linux guests go to the nested VM there.
kvm_runs_linux() {
  kvm_usable || return 1
  if pvm_host; then
    echo "KVM's PVM backend runs an unmodified Linux guest far too slowly"
    return 1
  fi
}
