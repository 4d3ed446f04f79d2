# A memory hog is OOM-killed (exit 137) and reported; the agent and the other container live on.
run_container bystander '["sleep", "1000"]'
agent-ctl "$AGENT" call GetOomEvent >/tmp/oom-event &
run_container hog '["awk", "BEGIN { s = \"x\"; while (1) s = s s }"]' \
  '{"memory": {"limit": 33554432}}'
status=$(wait_status hog)
[ "$status" = 137 ] || fail "hog exited with $status, expected 137; stderr: $(cat /tmp/hog.err)"
i=0
until grep -q '"container_id":"hog"' /tmp/oom-event; do
  i=$((i + 1))
  [ $i -lt 50 ] || fail "no OOM event for hog: $(cat /tmp/oom-event)"
  sleep 0.1
done
kills=$(field oom_kill "$(ctl StatsContainer '{"container_id": "hog"}')")
[ "$kills" -ge 1 ] || fail "memory.events oom_kill is $kills"
echo "hog: exit 137, OOM event, oom_kill=$kills"
ctl Ping >/dev/null
ctl ExecProcess '{"container_id": "bystander", "exec_id": "e", "process": {"args": ["echo", "alive"]}}' >/dev/null
[ "$(agent-ctl "$AGENT" attach bystander e stdout)" = alive ] || fail "bystander did not answer"
ctl RemoveContainer '{"container_id": "hog"}' >/dev/null
ctl RemoveContainer '{"container_id": "bystander", "force": true}' >/dev/null
