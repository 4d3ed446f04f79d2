# A container as containerd makes it (CAP_MKNOD among its capabilities, one device rule: deny
# all) makes nodes for the guest's disk (the VM's vda stands for a pod member's), /dev/kmsg,
# the serial console and /dev/mem and opens them: the device filter on its cgroup refuses
# (EPERM) while /dev/null and the other default devices work. A rule allowing /dev/kmsg for
# writing opens just that. A node made in /dev or in an overlay root never opens (nodev).
disk=$(tr : ' ' </sys/block/vda/dev) || fail "no vda: the test boots with a --disk"
serial=$(tr : ' ' </sys/class/tty/ttyS0/dev) || fail "no ttyS0"
ln -sf busybox /tmp/rootfs/bin/mknod
# One line per probe: "NAME read|write open|EPERM|EACCES|other: ...", "NAME mknod ok".
cat >/tmp/rootfs/probe.sh <<'SH'
verdict() {
  case "$1" in
    '') echo open ;;
    *'not permitted'*) echo EPERM ;;
    *denied*) echo EACCES ;;
    *) echo "other: $1" ;;
  esac
}
r() { echo "$1 read $(verdict "$( (: <"$2") 2>&1)")"; }
w() { echo "$1 write $(verdict "$( (: >"$2") 2>&1)")"; }
mk() { mknod "$2" "$3" "$4" "$5" && echo "$1 mknod ok"; }
eval "$1"
SH

caps='["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
       "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
       "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]'
# devices_config SCRIPT RULES-JSON: containerd's /dev, /dev/pts and a /tmp that is not nodev.
devices_config() {
  cat <<JSON
{"ociVersion": "1.0.2",
 "process": {"args": ["sh", "/probe.sh", "$1"], "env": ["PATH=/bin"], "cwd": "/",
             "capabilities": {"bounding": $caps, "effective": $caps, "permitted": $caps}},
 "root": {"path": "/tmp/rootfs"},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid"]}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
                          {"type": "network"}, {"type": "cgroup"}],
           "resources": {"devices": $2}}}
JSON
}

# probe ID SCRIPT RULES-JSON [EXTRA-BODY]: runs it to its end; its output in /tmp/ID.out.
# SCRIPT goes into a JSON string: no double quotes in it, and its newlines become spaces.
probe() {
  script=$(echo "$2" | tr '\n' ' ')
  ctl CreateContainer \
    "{\"container_id\": \"$1\", \"config\": $(devices_config "$script" "$3")$4}" >/dev/null
  agent-ctl "$AGENT" attach "$1" "" stdout >"/tmp/$1.out" &
  agent-ctl "$AGENT" attach "$1" "" stderr >"/tmp/$1.err" &
  sleep 0.2
  ctl StartContainer "{\"container_id\": \"$1\"}" >/dev/null
  status=$(field exit_status "$(ctl WaitProcess "{\"container_id\": \"$1\"}")")
  wait
  ctl RemoveContainer "{\"container_id\": \"$1\"}" >/dev/null
  echo "--- $1 (exit $status)"
  cat "/tmp/$1.out" "/tmp/$1.err"
}

# expect ID LINE...: each line is in the container's output.
expect() {
  id=$1
  shift
  for line in "$@"; do
    grep -qxF "$line" "/tmp/$id.out" || fail "$id: no \"$line\""
  done
}

deny_all='[{"allow": false, "access": "rwm"}]'
probe escape "mk disk /tmp/disk b $disk; r disk /tmp/disk; w disk /tmp/disk;
  mk kmsg /tmp/kmsg c 1 11; r kmsg /tmp/kmsg; w kmsg /tmp/kmsg;
  mk serial /tmp/ttyS0 c $serial; r serial /tmp/ttyS0; w serial /tmp/ttyS0;
  mk mem /tmp/mem c 1 1; r mem /tmp/mem;
  r null /dev/null; w null /dev/null; r zero /dev/zero; r urandom /dev/urandom;
  w full /dev/full; r tty-ok /dev/ptmx" "$deny_all"
expect escape "disk mknod ok" "disk read EPERM" "disk write EPERM" \
  "kmsg mknod ok" "kmsg read EPERM" "kmsg write EPERM" \
  "serial mknod ok" "serial read EPERM" "serial write EPERM" "mem read EPERM" \
  "null read open" "null write open" "zero read open" "urandom read open" "full write open" \
  "tty-ok read open"

# Reading /dev/kmsg may also need CAP_SYSLOG (dmesg_restrict): kmsg is allowed for writing.
kmsg_write='[{"allow": false, "access": "rwm"},
             {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "w"}]'
probe allowed "mk kmsg /tmp/kmsg c 1 11; w kmsg /tmp/kmsg;
  mk disk /tmp/disk b $disk; r disk /tmp/disk" "$kmsg_write"
expect allowed "kmsg write open" "disk read EPERM"

# Rules that allow everything: only nodev stands between these nodes and the devices.
allow_all='[{"allow": true, "access": "rwm"}]'
probe nodev "mk dev /dev/kmsg2 c 1 11; w dev /dev/kmsg2; mk root /kmsg3 c 1 11; w root /kmsg3;
  mk tmp /tmp/kmsg c 1 11; w tmp /tmp/kmsg" "$allow_all" ', "overlay": true'
expect nodev "dev mknod ok" "dev write EACCES" "root mknod ok" "root write EACCES" "tmp write open"

left=$(find /sys/fs/cgroup/kvrun -mindepth 1 -maxdepth 1 -type d)
[ -z "$left" ] || fail "cgroups left: $left"
echo "kvrun-test: device checks passed"
