# Sourced by test init scripts (the guest's /init in a kvrun_test_initramfs): mounts what a
# test needs, reads parameters from the kernel command line and ends the VM with a status.
#
#   param NAME     prints the value of kvrun.NAME=... from /proc/cmdline (fails if absent)
#   finish STATUS  ends the VM; kvrun-vmm exits with STATUS
#
# Every failing command ends the VM with status 1 (set -e and an EXIT trap), so a test script
# reads as a list of steps that must each succeed. kvrun.trace=1 on the command line echoes
# each command first (set -x), to find which one failed.

/bin/busybox mkdir -p /proc /sys /dev /tmp /run
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mkdir -p /dev/pts /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run

finish() {
  trap - EXIT
  echo "kvrun-test: finish $1"
  /bin/guest-exit "$1"
}

param() {
  for word in $(cat /proc/cmdline); do
    case $word in
      "kvrun.$1="*)
        echo "${word#kvrun.$1=}"
        return 0
        ;;
    esac
  done
  echo "kvrun-test: no kvrun.$1= on the kernel command line" >&2
  return 1
}

# busybox ash has no ERR trap: -e stops the script at the first failure and the EXIT trap
# turns that into a VM exit with status 1. Scripts end with an explicit `finish 0`.
set -e
if grep -q 'kvrun.trace=1' /proc/cmdline; then set -x; fi
trap 'echo "kvrun-test: FAILED: the script stopped at a failing command" >&2; finish 1' EXIT
