# Helpers for the agent's in-VM test scripts (sourced). Every check that fails ends the VM with
# status 1 after saying what failed.
AGENT=unix:/run/kvrun-agent.sock
export PATH=/bin:/sbin

fail() {
  echo "kvrun-test: FAILED: $*"
  guest-exit 1
}

# ctl TYPE [BODY]: the reply body on stdout; an error reply fails the test.
ctl() {
  agent-ctl "$AGENT" call "$@" || fail "request $1 failed"
}

# field NAME JSON: the first number after "NAME": (the agent's JSON is compact).
field() {
  echo "$2" | sed -n "s/.*\"$1\":\([0-9][0-9]*\).*/\1/p"
}

make_rootfs() {
  mkdir -p "$1/bin" "$1/proc" "$1/dev" "$1/tmp" "$1/sys"
  cp /bin/busybox "$1/bin/busybox"
  for applet in sh sleep cat echo awk seq ls true; do ln -s busybox "$1/bin/$applet"; done
}

# config ARGS-JSON [RESOURCES-JSON]: an OCI config for /tmp/rootfs in its own namespaces.
config() {
  resources=${2:-"{}"}
  cat <<JSON
{"ociVersion": "1.0.2",
 "process": {"args": $1, "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "/tmp/rootfs"},
 "hostname": "vm-test",
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
                          {"type": "network"}, {"type": "cgroup"}],
           "resources": $resources}}
JSON
}

# run_container ID ARGS-JSON [RESOURCES-JSON]: creates and starts it, output to /tmp/ID.out
# and /tmp/ID.err (read in the background, so nothing can fill a pipe).
run_container() {
  ctl CreateContainer "{\"container_id\": \"$1\", \"config\": $(config "$2" "$3")}" >/dev/null
  agent-ctl "$AGENT" attach "$1" "" stdout >"/tmp/$1.out" &
  agent-ctl "$AGENT" attach "$1" "" stderr >"/tmp/$1.err" &
  sleep 0.2  # the attaches must be in place before the process writes
  ctl StartContainer "{\"container_id\": \"$1\"}" >/dev/null
}

# wait_status ID: the container init's exit status.
wait_status() {
  field exit_status "$(ctl WaitProcess "{\"container_id\": \"$1\"}")"
}
