# Limits land in the cgroup, Stats reports real usage, Pause freezes and Resume thaws.
run_container busy '["sh", "-c", "while :; do :; done"]' \
  '{"pids": {"limit": 10}, "memory": {"limit": 67108864}, "cpu": {"quota": 50000, "period": 100000}}'
cg=/sys/fs/cgroup/kvrun/busy
[ "$(cat $cg/cpu.max)" = "50000 100000" ] || fail "cpu.max is $(cat $cg/cpu.max)"
[ "$(cat $cg/memory.max)" = 67108864 ] || fail "memory.max is $(cat $cg/memory.max)"
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
