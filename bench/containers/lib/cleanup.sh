# bench/containers: nothing started by the bench may outlive it. cleanup_check says what a run
# left behind (containers, state, processes, mounts, cgroups); cleanup_all removes it anyway;
# cleanup_final undoes the bench's own setup. Sourced by run.sh.

mounted_cgroup=0

# runc and crun need cgroup v2 at /sys/fs/cgroup. The nested VM (scripts/with-nested-kvm.sh)
# mounts none; there, and only there, the bench mounts it for the run.
prepare_cgroups() {
  [[ $(stat -f -c %T /sys/fs/cgroup 2>/dev/null) == cgroup2fs ]] && return
  if [[ ${KVRUN_NESTED:-} == 1 ]] && ! mountpoint -q /sys/fs/cgroup; then
    mount -t cgroup2 none /sys/fs/cgroup || die "cannot mount cgroup2 on /sys/fs/cgroup"
    mounted_cgroup=1
    return
  fi
  die "runc and crun need cgroup v2 mounted at /sys/fs/cgroup (found $(stat -f -c %T /sys/fs/cgroup 2>/dev/null || echo nothing))"
}

cgroup_dirs() { find /sys/fs/cgroup -mindepth 1 -maxdepth 3 -type d 2>/dev/null | sort; }

cleanup_snapshot() { cgroup_dirs >"$work/cgroups.before"; }

# PIDs of processes that belong to the bench's containers: their command line names $work
# (kvrun's monitors and VMMs, runtimes) or their root is the bench's rootfs (runc/crun inits).
bench_processes() {
  local dir pid root
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [[ $pid != "$$" && $pid != "$BASHPID" ]] || continue
    root=$(readlink "$dir/root" 2>/dev/null) || continue
    if [[ $root == "$rootfs"* ]] || tr '\0' ' ' <"$dir/cmdline" 2>/dev/null | grep -qF "$work/"; then
      echo "$pid"
    fi
  done
}

# Prints one line per leftover; status 1 if there was any.
cleanup_check() {
  local leftovers=() runtime entries pids mounts cgroups
  for runtime in "${runtimes[@]}"; do
    entries=$(find "$work/state/$runtime" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    ((entries == 0)) || leftovers+=("$runtime: $entries container(s) in its state root")
  done
  pids=$(bench_processes | tr '\n' ' ')
  [[ -z $pids ]] || leftovers+=("processes: $pids")
  mounts=$(grep -cF "$work/" /proc/mounts || true)
  ((mounts == 0)) || leftovers+=("$mounts mount(s) under $work")
  cgroups=$(cgroup_dirs | comm -13 "$work/cgroups.before" - | tr '\n' ' ')
  [[ -z $cgroups ]] || leftovers+=("cgroups: $cgroups")
  if ((${#leftovers[@]} == 0)); then
    echo "$me: nothing left behind: no containers, state, processes, mounts or cgroups"
    return 0
  fi
  printf '%s: left behind: %s\n' "$me" "${leftovers[@]}" >&2
  return 1
}

cleanup_all() {
  local runtime dir pid
  for runtime in "${runtimes[@]}"; do
    runtime_argv "$runtime"
    for dir in "$work/state/$runtime"/*; do
      [[ -d $dir ]] || continue
      "${argv[@]}" delete --force "${dir##*/}" >/dev/null 2>&1 || true
    done
  done
  for pid in $(bench_processes); do kill -KILL "$pid" 2>/dev/null || true; done
}

cleanup_final() {
  local dir
  # Cgroups runc/crun could not remove (a process was still in them) go once emptied.
  for dir in $(cgroup_dirs | comm -13 "$work/cgroups.before" - | sort -r); do
    rmdir "$dir" 2>/dev/null || true
  done
  if ((mounted_cgroup)); then umount /sys/fs/cgroup || true; fi
  rm -rf "$work"
}
