#!/bin/sh
# /init of the console scenes (console_vm_test.cpp); kvrun.scene= picks one.
#   fake   a process prints the kernel's panic line to the console and to /dev/kmsg, waits,
#          then ends the VM with status 7: the VM must still be running by then
#   panic  PID 1 exits, which panics the kernel ("Attempted to kill init!")
. /lib/kvrun/prelude.sh
case "$(param scene)" in
  fake)
    grep -q ' kvrun.pvpanic=0x505' /proc/cmdline
    echo "Kernel panic - not syncing: fake (ttyS0)" >/dev/ttyS0
    # <0>: emergency level, so the kernel copies it to the console as it would a real panic.
    echo "<0>Kernel panic - not syncing: fake (kmsg)" >/dev/kmsg
    sleep 2
    echo "console-scene: still running"
    finish 7
    ;;
  panic)
    echo "console-scene: init exits"
    trap - EXIT
    exit 0
    ;;
esac
echo "console-scene: unknown scene" >&2
finish 1
