# bench/containers: the three runtimes, the bundles they share, and how one container is
# started. Sourced by run.sh (which provides $work, $data, $kvrun, $timer, die).

runtimes=(runc crun kvrun)
rootfs=$work/rootfs
settle_s=3 # seconds an idle sandbox gets after `run -d` before its memory is read

# runtime_argv RUNTIME: sets `argv` to the runtime's command with its global flags. Each gets a
# state root under $work; kvrun also a rootfs image cache there (nothing reaches /var/cache).
runtime_argv() {
  case $1 in
    runc | crun) argv=("$1" --root "$work/state/$1") ;;
    kvrun) argv=("$kvrun" --root "$work/state/kvrun" --rootfs-cache "$work/rootfs-cache") ;;
    *) die "unknown runtime $1" ;;
  esac
}

# One busybox-static root filesystem; a bundle per process (true, uptime, sleep) pointing at it
# with an absolute root.path, so every runtime runs the same files.
make_bundles() {
  local applet name args
  mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp"
  cp "$(command -v busybox)" "$rootfs/bin/busybox"
  for applet in sh true cat sleep; do ln -s busybox "$rootfs/bin/$applet"; done
  for name in true uptime sleep; do
    case $name in
      true) args='"/bin/true"' ;;
      uptime) args='"/bin/cat", "/proc/uptime"' ;;
      sleep) args='"/bin/sleep", "1000000"' ;;
    esac
    mkdir -p "$work/bundles/$name"
    cat >"$work/bundles/$name/config.json" <<JSON
{
  "ociVersion": "1.0.2",
  "process": {"args": [$args], "env": ["PATH=/bin"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
  "root": {"path": "$rootfs"},
  "hostname": "bench",
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}, {"type": "ipc"}]}
}
JSON
  done
  mkdir -p "$work/state" "$work/logs"
}

# launch RUNTIME BUNDLE ID [EXTRA GLOBAL FLAGS...]: `run` in the foreground through the launch
# timer; prints its key=value line. A failed run shows the runtime's stderr and ends the bench.
launch() {
  local runtime=$1 bundle=$2 id=$3 result
  shift 3
  runtime_argv "$runtime"
  local err=$work/logs/$runtime-$id.err
  if ! result=$("$timer" --timeout 600 -- "${argv[@]}" "$@" run --bundle "$work/bundles/$bundle" \
    "$id" 2>"$err"); then
    tail -5 "$err" >&2
    die "$runtime run of $bundle ($id) failed: $result"
  fi
  echo "$result"
}

# start_idle RUNTIME ID: `run -d` of the sleep bundle; prints the PID whose process tree is the
# sandbox (kvrun: the monitor, parent of the VMM; runc/crun: the container's init).
start_idle() {
  local runtime=$1 id=$2 pid
  runtime_argv "$runtime"
  local err=$work/logs/$runtime-$id.err
  if [[ $runtime == kvrun ]]; then
    "${argv[@]}" run -d --pid-file "$work/$id.pid" --bundle "$work/bundles/sleep" "$id" \
      </dev/null >/dev/null 2>"$err" || { tail -5 "$err" >&2; die "kvrun run -d $id failed"; }
    pid=$(<"$work/$id.pid")
  else
    "${argv[@]}" run -d --bundle "$work/bundles/sleep" "$id" </dev/null >/dev/null 2>"$err" ||
      { tail -5 "$err" >&2; die "$runtime run -d $id failed"; }
    pid=$("${argv[@]}" state "$id" | sed -n 's/^ *"pid": *\([0-9]*\),*$/\1/p')
  fi
  [[ $pid =~ ^[0-9]+$ ]] || die "$runtime: no PID for $id"
  echo "$pid"
}

# stop_idle RUNTIME ID: kills and deletes a container started by start_idle.
stop_idle() {
  runtime_argv "$1"
  "${argv[@]}" delete --force "$2" >/dev/null 2>>"$work/logs/$1-$2.err" ||
    { tail -5 "$work/logs/$1-$2.err" >&2; die "$1 delete --force $2 failed"; }
  rm -f "$work/$2.pid"
}
