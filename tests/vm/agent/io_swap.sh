# Resources that need kernel options our guest kernel has (CONFIG_BLK_CGROUP_IOCOST,
# CONFIG_SWAP): blockIO.weight becomes io.weight ("default N", N on v2's 1-10000 scale) and
# memory.swap becomes memory.swap.max = swap - limit. (Kernels without them get a clear error
# naming the field: tests/agent/unit/cgroups_test.cpp.)
body() { echo "{\"container_id\": \"$1\", \"config\": $(config '["sleep", "100"]' "$2")}"; }
cgroup=/sys/fs/cgroup/kvrun

ctl CreateContainer "$(body io '{"blockIO": {"weight": 500}}')" >/dev/null
grep -qw io "$cgroup/cgroup.subtree_control" ||
  fail "io not enabled for containers: $(cat "$cgroup/cgroup.subtree_control")"
[ "$(cat "$cgroup/io/io.weight")" = "default 4950" ] ||
  fail "io.weight is '$(cat "$cgroup/io/io.weight")'; the cgroup has:" \
    "$(ls "$cgroup/io" 2>&1 | tr '\n' ' ')"
ctl RemoveContainer '{"container_id": "io", "force": true}' >/dev/null
[ ! -d "$cgroup/io" ] || fail "RemoveContainer left the io cgroup"

# swap == limit: no swap at all.
ctl CreateContainer "$(body noswap '{"memory": {"limit": 33554432, "swap": 33554432}}')" >/dev/null
[ "$(cat "$cgroup/noswap/memory.swap.max")" = 0 ] ||
  fail "memory.swap.max is '$(cat "$cgroup/noswap/memory.swap.max")', not 0"
ctl RemoveContainer '{"container_id": "noswap", "force": true}' >/dev/null

ctl CreateContainer "$(body swap '{"memory": {"limit": 33554432, "swap": 67108864}}')" >/dev/null
[ "$(cat "$cgroup/swap/memory.swap.max")" = 33554432 ] ||
  fail "memory.swap.max is '$(cat "$cgroup/swap/memory.swap.max")', not 33554432"
ctl RemoveContainer '{"container_id": "swap", "force": true}' >/dev/null

# swap below the limit is refused, naming the field, and leaves no cgroup.
if out=$(agent-ctl "$AGENT" call CreateContainer \
  "$(body small '{"memory": {"limit": 33554432, "swap": 1048576}}')" 2>&1); then
  fail "swap smaller than the limit was accepted"
fi
case "$out" in
  *"linux.resources.memory.swap: is smaller than the memory limit"*) ;;
  *) fail "swap smaller than the limit: $out" ;;
esac
[ ! -d "$cgroup/small" ] || fail "a refused create left its cgroup"
echo "kvrun-test: io and swap checks passed"
