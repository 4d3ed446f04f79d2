# Sets the scene for the host test, which lists the processes and destroys the sandbox over
# vsock: a running container with a background job and an exec, and one only created. The VM
# must power off with status 0 while this script still sleeps.
run_container box '["sh", "-c", "sleep 1001 & exec sleep 1002"]'
ctl ExecProcess '{"container_id": "box", "exec_id": "e", "process": {"args": ["sleep", "1004"]}}' \
  >/dev/null
ctl CreateContainer "{\"container_id\": \"idle\", \"config\": $(config '["sleep", "1003"]')}" \
  >/dev/null
i=0
# Counts sleeps, not pids: a forked background job shows sh's argv until it execs.
sleeps() { ctl ListProcesses '{"container_id": "box"}' | grep -o '"args":\["sleep"' | wc -l; }
until [ "$(sleeps)" = 3 ]; do
  i=$((i + 1))
  [ $i -lt 100 ] || fail "box never had its 3 sleeps"
  sleep 0.1
done
echo "kvrun-test: containers up"
sleep 120
fail "still running 120 s after the containers came up"
