# ConfigureNetwork after a CreateSandbox that shares the network: the link moves into the pod's
# namespace (the VM's own keeps only lo), and a pod container on it pings the host side.
ctl CreateSandbox '{"sandbox_id": "pod", "shared": ["network"]}' >/dev/null
ctl ConfigureNetwork '{"interfaces": [{"mac": "02:00:0a:d1:03:02", "name": "eth1",
                                       "addresses": ["10.209.3.2/24"]}],
                       "routes": [{"destination": "default", "gateway": "10.209.3.1"}]}' >/dev/null
ip link show eth1 2>/dev/null && fail "eth1 is still in the VM's namespace"
ip link show eth0 2>/dev/null && fail "eth0 was not moved"
for applet in ping ip; do ln -sf busybox "/tmp/rootfs/bin/$applet"; done
cat >/tmp/pod-config.json <<JSON
{"ociVersion": "1.0.2",
 "process": {"args": ["sh", "-c", "ip -o addr show eth1; ping -c 1 -W 5 10.209.3.1"],
             "env": ["PATH=/bin"], "cwd": "/",
             "capabilities": {"bounding": ["CAP_NET_RAW"], "effective": ["CAP_NET_RAW"],
                              "permitted": ["CAP_NET_RAW"]}},
 "root": {"path": "/tmp/rootfs"},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"},
                          {"type": "network", "path": "/proc/4242/ns/net"}]}}
JSON
ctl CreateContainer "{\"container_id\": \"pinger\", \"sandbox\": true, \"network\": true, \"config\": $(cat /tmp/pod-config.json)}" >/dev/null
agent-ctl "$AGENT" attach pinger "" stdout >/tmp/pinger.out &
sleep 0.2
ctl StartContainer '{"container_id": "pinger"}' >/dev/null
status=$(wait_status pinger)
sleep 0.2
cat /tmp/pinger.out
[ "$status" = 0 ] || fail "the pod container exited with $status"
echo "kvrun-test: pod network checks passed"
