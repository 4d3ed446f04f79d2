#!/usr/bin/env python3
"""Host side of bench/io/vsock (run.sh): boots the guest, pushes one stream in, takes one out.

Arguments: VMM KERNEL INITRD BYTES JSON ('' for none). Host figures are measured from the first
byte to the peer's EOF (host -> guest: until the guest closed after reading everything;
guest -> host: from accept to EOF), so they include draining."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

CHUNK = 1 << 20


def connect(uds, port, deadline):
    while time.monotonic() < deadline:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(uds)
        s.sendall(f"CONNECT {port}\n".encode())
        line = b""
        while not line.endswith(b"\n"):
            c = s.recv(1)
            if not c:
                break
            line += c
        if line.startswith(b"OK "):
            return s
        s.close()
        time.sleep(0.05)
    raise RuntimeError(f"no OK for CONNECT {port}")


def main():
    vmm, kernel, initrd, nbytes, json_path = sys.argv[1:6]
    nbytes = int(nbytes)
    tmp = tempfile.mkdtemp(prefix="kvrun-vsock-bench-", dir="/tmp")
    uds = os.path.join(tmp, "v.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(uds + "_6000")
    listener.listen(1)
    vm = subprocess.Popen(
        [vmm, "--kernel", kernel, "--initrd", initrd, "--memory", "256", "--cpus", "2",
         "--timeout", "600", "--vsock", f"cid=3,uds={uds}", "--cmdline",
         f"console=ttyS0 reboot=k panic=1 quiet kvrun.mode=bench kvrun.bytes={nbytes}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    console = []
    seen = threading.Condition()

    def pump():
        for line in vm.stdout:
            with seen:
                console.append(line)
                seen.notify_all()

    threading.Thread(target=pump, daemon=True).start()

    def wait_line(pattern, timeout=300):
        deadline = time.monotonic() + timeout
        with seen:
            while True:
                for line in console:
                    m = re.search(pattern, line)
                    if m:
                        return m
                if vm.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("guest never printed " + pattern + "\n" + "".join(console))
                seen.wait(0.2)

    try:
        wait_line(r"sink on 5000")
        s = connect(uds, 5000, time.monotonic() + 60)
        buf = bytes(CHUNK)
        start = time.monotonic()
        left = nbytes
        while left:
            n = min(left, CHUNK)
            s.sendall(buf[:n])
            left -= n
        s.shutdown(socket.SHUT_WR)
        s.recv(1)  # EOF once the guest has read everything and closed
        h2g = time.monotonic() - start
        s.close()
        guest_h2g = float(wait_line(r"sink got \d+ bytes in [\d.]+ s \(([\d.]+) MiB/s\)").group(1))

        listener.settimeout(300)
        conn, _ = listener.accept()
        start = time.monotonic()
        got = 0
        view = bytearray(CHUNK)
        while True:
            n = conn.recv_into(view)
            if n == 0:
                break
            got += n
        g2h = time.monotonic() - start
        conn.close()
        if got != nbytes:
            raise RuntimeError(f"guest -> host: got {got} of {nbytes} bytes")
        guest_g2h = float(wait_line(r"source sent \d+ bytes in [\d.]+ s \(([\d.]+) MiB/s\)").group(1))

        connect(uds, 5001, time.monotonic() + 30).close()
        status = vm.wait(timeout=120)
        if status != 0:
            raise RuntimeError(f"kvrun-vmm exited with {status}")
    except Exception as e:  # one line, then the VM goes
        print(f"bench/io/vsock: {e}", file=sys.stderr)
        vm.kill()
        vm.wait()
        shutil.rmtree(tmp, ignore_errors=True)
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    mib = nbytes / 1048576
    rows = {"host_to_guest": (h2g, guest_h2g), "guest_to_host": (g2h, guest_g2h)}
    print(f"virtio-vsock, one stream, {mib:.0f} MiB per direction")
    print(f"{'direction':<16} {'host MiB/s':>11} {'guest MiB/s':>12}")
    for name, (secs, guest) in rows.items():
        print(f"{name:<16} {mib / secs:>11.1f} {guest:>12.1f}")
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"bytes": nbytes, **{k: {"host_mib_s": round(mib / v[0], 1),
                                               "guest_mib_s": v[1]} for k, v in rows.items()}},
                      f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
