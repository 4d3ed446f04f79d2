#!/bin/sh
# /init of the agent's VM tests: starts the test driver in the background and becomes the agent
# (exec keeps PID 1), so the driver is the agent's child and the agent does every PID-1 duty
# itself. The agent re-roots itself in a bind mount of the initramfs (agent/guest/
# system_mounts.h), so the driver waits for that and enters the agent's root through
# /proc/1/root, or it would not see the agent's mounts. busybox needs /proc to link its applets.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
# ash opens /dev/null for a background job; devtmpfs comes later, from the agent.
mknod -m 666 /dev/null c 1 3
(
  while [ ! -S /proc/1/root/run/kvrun-agent.sock ]; do sleep 0.1; done
  exec chroot /proc/1/root /bin/sh /test/main.sh
) </dev/console >/dev/console 2>&1 &
exec /sbin/kvrun-agent --guest --listen vsock:1024 --listen unix:/run/kvrun-agent.sock
