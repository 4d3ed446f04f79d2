# ConfigureNetwork gives the guest link with the host tap's peer MAC its name, MTU, address and
# default route; a container whose config names a host network namespace path joins that
# network (CreateContainer "network": true), pings the host side, tells it (TCP, port 5003)
# that its own server is up, and prints what the host sends to that server (port 5004).
# The host test (network_vm_test.cpp) holds the other end.
mac=02:00:0a:d1:03:02
network="{\"interfaces\": [{\"mac\": \"$mac\", \"name\": \"ctr0\", \"mtu\": 1400,
                            \"addresses\": [\"10.209.3.2/24\", \"fd00:209:3::2/64\"]}],
          \"routes\": [{\"destination\": \"default\", \"gateway\": \"10.209.3.1\"},
                       {\"destination\": \"10.209.4.0/24\", \"device\": \"ctr0\"}]}"

# Before: a container may not ask for a network nobody configured.
out=$(agent-ctl "$AGENT" call CreateContainer \
  "{\"container_id\": \"early\", \"network\": true, \"config\": $(config '["true"]')}" 2>&1) &&
  fail "network: true was accepted before ConfigureNetwork"
echo "$out" | grep -q "body.network: the network is not configured" || fail "early: $out"

ctl ConfigureNetwork "$network" >/dev/null
out=$(agent-ctl "$AGENT" call ConfigureNetwork "$network" 2>&1) &&
  fail "a second ConfigureNetwork was accepted"
echo "$out" | grep -q "network: already configured" || fail "second: $out"
ip addr show ctr0 | grep -q "inet 10.209.3.2/24 brd 10.209.3.255" || fail "ctr0: $(ip addr)"
ip link show ctr0 | grep -q "<.*UP.*> mtu 1400" || fail "ctr0: $(ip link show ctr0)"
ip route | grep -q "default via 10.209.3.1 dev ctr0" || fail "routes: $(ip route)"
echo "kvrun-test: ctr0 configured"

for applet in ping nc ip sh; do ln -sf busybox "/tmp/rootfs/bin/$applet"; done
cat >/tmp/net-config.json <<JSON
{"ociVersion": "1.0.2",
 "process": {"args": ["sh", "-c", "ip -o addr show ctr0; ping -c 2 -W 5 10.209.3.1 || exit 3; nc -l -p 5004 >/tmp/got & sleep 1; echo ready | nc 10.209.3.1 5003; wait; echo container got: \$(cat /tmp/got)"],
             "env": ["PATH=/bin"], "cwd": "/",
             "capabilities": {"bounding": ["CAP_NET_RAW"], "effective": ["CAP_NET_RAW"],
                              "permitted": ["CAP_NET_RAW"]}},
 "root": {"path": "/tmp/rootfs"},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"},
                          {"type": "network", "path": "/var/run/netns/cni-on-the-host"}]}}
JSON
ctl CreateContainer "{\"container_id\": \"net\", \"network\": true, \"config\": $(cat /tmp/net-config.json)}" >/dev/null
agent-ctl "$AGENT" attach net "" stdout >/tmp/net.out &
agent-ctl "$AGENT" attach net "" stderr >/tmp/net.err &
sleep 0.2
ctl StartContainer '{"container_id": "net"}' >/dev/null
status=$(wait_status net)
sleep 0.2
cat /tmp/net.out /tmp/net.err
[ "$status" = 0 ] || fail "the container exited with $status"
grep -q "container got: to-container" /tmp/net.out || fail "the host's bytes did not arrive"

# A network entry without a path is a fresh namespace: loopback only, no ctr0.
run_container lonely '["sh", "-c", "ls /sys/class/net 2>/dev/null; cat /proc/net/dev"]'
[ "$(wait_status lonely)" = 0 ] || fail "lonely failed: $(cat /tmp/lonely.err)"
sleep 0.2
grep -q ctr0 /tmp/lonely.out && fail "a container without a netns path saw ctr0"
echo "kvrun-test: network checks passed"
