# Test driver: waits for the agent, runs /test/<kvrun.test>.sh, stops the VM with its status.
. /test/lib.sh
i=0
while [ ! -S "${AGENT#unix:}" ]; do
  i=$((i + 1))
  [ $i -lt 300 ] || fail "the agent did not listen within 30 s"
  sleep 0.1
done
name=$(sed -n 's/.* kvrun\.test=\([^ ]*\).*/\1/p' /proc/cmdline)
[ -n "$name" ] || fail "no kvrun.test= on the kernel command line"
make_rootfs /tmp/rootfs
echo "kvrun-test: running $name"
set +e
(set -e; . "/test/$name.sh")
status=$?
echo "kvrun-test: finish $status"
guest-exit $status
