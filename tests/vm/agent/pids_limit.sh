# A runaway forker stops at pids.max; the agent keeps serving and removes the container.
# Its processes stay (each one sleeps) and so does its init, which ends as `exec sleep` without a
# fork: a classic `f | f &` bomb's processes come and go, and once its init exited the whole pid
# namespace went with it, so a slow VM could read pids.current from an empty cgroup.
run_container bomb '["sh", "-c", "(while :; do sleep 600 & done) 2>/dev/null; exec sleep 600"]' \
  '{"pids": {"limit": 16}}'
sleep 3
stats=$(ctl StatsContainer '{"container_id": "bomb"}')
current=$(echo "$stats" | sed -n 's/.*"pids":{"current":\([0-9]*\).*/\1/p')
max=$(echo "$stats" | sed -n 's/.*"pids":{[^}]*"max":\([0-9]*\).*/\1/p')
echo "bomb: pids.current=$current pids.max=$max $(cat /sys/fs/cgroup/kvrun/bomb/pids.events)"
[ "$max" = 16 ] || fail "pids.max is $max"
[ "$current" -le 16 ] && [ "$current" -ge 8 ] || fail "pids.current is $current"
hits=$(sed -n 's/^max //p' /sys/fs/cgroup/kvrun/bomb/pids.events)
[ "$hits" -gt 0 ] || fail "no fork was refused (pids.events max $hits)"
ctl Ping >/dev/null
ctl RemoveContainer '{"container_id": "bomb", "force": true}' >/dev/null
[ ! -d /sys/fs/cgroup/kvrun/bomb ] || fail "the cgroup outlived its container"
