# Agent peers (issue 16, hole 6): the agent listens on vsock port 1024, and nothing in the
# guest may reach it there. With vsock loopback compiled out (kernel-config/microvm.config),
# CID 1 (local) and the guest's own CID 3 have no transport; CID 2 goes to the host, which
# relays nothing back. The agent would also close any non-host peer unread
# (agent/listen_address.h). Probed from the guest's root and from inside a container.
expect_unserved() { # WHERE OUTPUT
  echo "kvrun-test: $1: $2"
  case $2 in
    *"connect failed"*) ;;
    *) fail "$1: $2 (expected no connection at all)" ;;
  esac
}
for cid in 1 2 3; do
  expect_unserved guest "$(vsock-probe $cid 1024)"
done
cp /bin/vsock-probe /tmp/rootfs/bin/vsock-probe
run_container probe '["sh", "-c", "for c in 1 2 3; do vsock-probe $c 1024; done"]'
[ "$(wait_status probe)" = 0 ] || fail "container probe failed: $(cat /tmp/probe.err)"
[ "$(wc -l </tmp/probe.out)" = 3 ] || fail "container probe printed: $(cat /tmp/probe.out)"
while read -r line; do expect_unserved container "$line"; done </tmp/probe.out
# That the host still gets through: AgentInVm.HostTalksToTheAgentOverVsock...
echo "kvrun-test: peers checks passed"
