#!/usr/bin/env bash
# Installs what kvrun needs, builds it and the guest (kernel cached), and runs a demo container
# in its own microVM: `kvrun run` of a busybox bundle. The container prints where it runs; its
# exit status becomes this script's.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${KVRUN_BUILD_DIR:-$repo/build}

"$repo/scripts/setup.sh"
# Only what the demo runs: the CLI, the VMM and the guest initramfs (with its static agent).
KVRUN_BUILD_DIR=$build_dir "$repo/scripts/build.sh" kvrun kvrun-vmm initramfs
KVRUN_KERNEL=$("$repo/kernel-config/build-kernel.sh" | tail -n 1)
export KVRUN_KERNEL

# The bundle: a busybox-static root filesystem and a runtime-spec config.json.
bundle=$build_dir/demo/bundle
rm -rf "$bundle"
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/sys" "$bundle/rootfs/dev" \
  "$bundle/rootfs/tmp"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for applet in sh echo cat uname hostname ps grep id; do
  ln -s busybox "$bundle/rootfs/bin/$applet"
done
cat >"$bundle/config.json" <<'JSON'
{
  "ociVersion": "1.0.2",
  "process": {
    "args": ["/bin/sh", "-c",
             "echo \"hello from container $(hostname), kernel $(uname -r)\"; echo \"processes it can see:\"; ps -o pid,args; id"],
    "env": ["PATH=/bin"],
    "cwd": "/"
  },
  "root": {"path": "rootfs"},
  "hostname": "kvrun-demo",
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}]}
}
JSON

id=demo-$$
run=("$build_dir/shim/cli/kvrun" --root /tmp/kvrun-demo-state run --bundle "$bundle" "$id")
export KVRUN_VMM=$build_dir/vmm/kvrun-vmm
export KVRUN_INITRD=$build_dir/guest-rootfs/initramfs.cpio.gz
# shellcheck source=scripts/kvm-host.sh
source "$repo/scripts/kvm-host.sh"
if kvm_error=$(kvm_runs_linux); then
  exec "${run[@]}"
fi
# No usable /dev/kvm (as on our own machines, docs/machine.md): run inside a nested VM that has
# one, with its own /tmp for kvrun's state and sockets (Unix sockets do not work on the 9p
# share). A checkout, build or kernel under /tmp stays visible there (--keep-tmp; the checkout
# as the current directory). It says in one line why, if it cannot start.
echo "demo: /dev/kvm unusable here ($kvm_error); running inside a nested VM that has one (slow: emulated CPU)" >&2
cd "$repo"
exec "$repo/scripts/with-nested-kvm.sh" --private-tmp --keep-tmp "$build_dir" \
  --keep-tmp "$(dirname "$KVRUN_KERNEL")" --timeout 600 -- "${run[@]}"
