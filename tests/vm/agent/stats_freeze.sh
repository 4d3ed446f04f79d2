# Limits land in the cgroup, Stats reports real usage, Pause freezes and Resume thaws.
run_container busy '["sh", "-c", "while :; do :; done"]' \
  '{"pids": {"limit": 10}, "memory": {"limit": 67108864}, "cpu": {"quota": 50000, "period": 100000}}'
cg=/sys/fs/cgroup/kvrun/busy
[ "$(cat $cg/cpu.max)" = "50000 100000" ] || fail "cpu.max is $(cat $cg/cpu.max)"
[ "$(cat $cg/memory.max)" = 67108864 ] || fail "memory.max is $(cat $cg/memory.max)"
# UpdateContainer replaces the limits it names; the others stay; a bad value changes nothing.
ctl UpdateContainer '{"container_id": "busy", "resources": {"memory": {"limit": 33554432},
  "cpu": {"quota": 25000, "period": 100000}}}' >/dev/null
[ "$(cat $cg/memory.max)" = 33554432 ] || fail "updated memory.max is $(cat $cg/memory.max)"
[ "$(cat $cg/cpu.max)" = "25000 100000" ] || fail "updated cpu.max is $(cat $cg/cpu.max)"
[ "$(cat $cg/pids.max)" = 10 ] || fail "pids.max became $(cat $cg/pids.max)"
agent-ctl "$AGENT" call UpdateContainer '{"container_id": "busy",
  "resources": {"pids": {"limit": 20}, "memory": {"limit": 33554432, "swap": 1}}}' \
  >/dev/null 2>&1 && fail "a swap below the memory limit was accepted"
[ "$(cat $cg/pids.max)" = 10 ] || fail "a refused update changed pids.max to $(cat $cg/pids.max)"
sleep 1
usage() { field usage_usec "$(ctl StatsContainer '{"container_id": "busy"}')"; }
stats=$(ctl StatsContainer '{"container_id": "busy"}')
echo "busy: $stats"
memory=$(echo "$stats" | sed -n 's/.*"memory":{"current":\([0-9]*\).*/\1/p')
pids=$(echo "$stats" | sed -n 's/.*"pids":{"current":\([0-9]*\).*/\1/p')
[ "$memory" -gt 0 ] || fail "memory.current is $memory"
[ "$pids" = 1 ] || fail "pids.current is $pids"
[ "$(usage)" -gt 100000 ] || fail "cpu usage is $(usage) us after 1 s of spinning"

ctl PauseContainer '{"container_id": "busy"}' >/dev/null
grep -qx "frozen 1" $cg/cgroup.events || fail "not frozen: $(cat $cg/cgroup.events)"
before=$(usage)
sleep 0.5
[ "$(usage)" = "$before" ] || fail "a paused container used CPU"
ctl ResumeContainer '{"container_id": "busy"}' >/dev/null
grep -qx "frozen 0" $cg/cgroup.events || fail "not thawed: $(cat $cg/cgroup.events)"
sleep 0.5
[ "$(usage)" -gt "$before" ] || fail "a resumed container used no CPU"
ctl RemoveContainer '{"container_id": "busy", "force": true}' >/dev/null
[ ! -d $cg ] || fail "the cgroup outlived its container"
