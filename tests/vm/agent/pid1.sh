# PID-1 duties: the agent is PID 1, mounted the system, enabled the controllers, reaps orphans,
# and powers the VM off cleanly on SIGTERM.
[ "$(cat /proc/1/comm)" = kvrun-agent ] || fail "PID 1 is $(cat /proc/1/comm)"
for m in "devtmpfs /dev" "devpts /dev/pts" "tmpfs /dev/shm" "proc /proc" "sysfs /sys" \
  "cgroup2 /sys/fs/cgroup" "tmpfs /run" "tmpfs /tmp"; do
  grep -q "^${m% *} ${m#* } " /proc/mounts || fail "not mounted: $m"
done
for c in cpu memory pids; do
  grep -qw $c /sys/fs/cgroup/cgroup.subtree_control || fail "controller $c not enabled"
done
# The parent exits at once, so the sleep is reparented to PID 1, which must reap it.
sh -c 'sleep 0.3 & echo $! >/tmp/orphan'
orphan=$(cat /tmp/orphan)
sleep 1.5
[ ! -e /proc/$orphan ] || fail "orphan $orphan not reaped: $(cat /proc/$orphan/stat)"
# A container works from the initramfs (pivot_root away from a bind of the initial rootfs).
run_container hello '["sh", "-c", "echo $(hostname) $(cat /proc/1/comm)"]'
[ "$(wait_status hello)" = 0 ] || fail "container hello failed: $(cat /tmp/hello.err)"
[ "$(cat /tmp/hello.out)" = "vm-test sh" ] || fail "container hello printed: $(cat /tmp/hello.out)"
echo "kvrun-test: pid1 checks passed"
kill -TERM 1
sleep 30
fail "still running 30 s after SIGTERM to PID 1"
