# Resources that need kernel options, checked either way (docs/agent-protocol.md).
# blockIO.weight becomes io.weight ("default N", N on v2's 1-10000 scale) where the kernel has
# blk-iocost, and a clear error naming the field where it has not; memory.swap becomes
# memory.swap.max = swap - limit, and without swap only "no swap" is accepted.
body() { echo "{\"container_id\": \"$1\", \"config\": $(config '["sleep", "100"]' "$2")}"; }
if out=$(agent-ctl "$AGENT" call CreateContainer "$(body io '{"blockIO": {"weight": 500}}')" 2>&1)
then
  [ "$(cat /sys/fs/cgroup/kvrun/io/io.weight)" = "default 4950" ] ||
    fail "io.weight is $(cat /sys/fs/cgroup/kvrun/io/io.weight)"
  ctl RemoveContainer '{"container_id": "io", "force": true}' >/dev/null
else
  case "$out" in
    *"linux.resources.blockIO.weight: this kernel has no io.weight"*) echo "io: $out" ;;
    *) fail "blockIO.weight: $out" ;;
  esac
  [ ! -d /sys/fs/cgroup/kvrun/io ] || fail "a failed create left its cgroup"
fi
grep -qw io /sys/fs/cgroup/kvrun/cgroup.subtree_control ||
  fail "io not enabled for containers: $(cat /sys/fs/cgroup/kvrun/cgroup.subtree_control)"
ctl CreateContainer "$(body noswap '{"memory": {"limit": 33554432, "swap": 33554432}}')" >/dev/null
if [ -e /sys/fs/cgroup/kvrun/noswap/memory.swap.max ]; then
  [ "$(cat /sys/fs/cgroup/kvrun/noswap/memory.swap.max)" = 0 ] || fail "memory.swap.max is not 0"
fi
ctl RemoveContainer '{"container_id": "noswap", "force": true}' >/dev/null
if out=$(agent-ctl "$AGENT" call CreateContainer \
  "$(body swap '{"memory": {"limit": 33554432, "swap": 67108864}}')" 2>&1); then
  [ "$(cat /sys/fs/cgroup/kvrun/swap/memory.swap.max)" = 33554432 ] ||
    fail "memory.swap.max is $(cat /sys/fs/cgroup/kvrun/swap/memory.swap.max)"
  ctl RemoveContainer '{"container_id": "swap", "force": true}' >/dev/null
else
  case "$out" in
    *"linux.resources.memory.swap: this kernel has no swap"*) echo "swap: $out" ;;
    *) fail "memory.swap: $out" ;;
  esac
fi
echo "kvrun-test: io and swap checks passed"
