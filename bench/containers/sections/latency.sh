# bench/containers section: launch latency, interleaved. Each round runs, for every runtime in
# turn (the order rotates each round so no runtime always goes first), `run` of /bin/true
# (end-to-end: spawn to exit, container deleted) and `run` of `cat /proc/uptime` (time to its
# first byte of output). kvrun's uptime runs also log with --debug: the time stamps of the
# monitor's "phase:" lines plus the guest's uptime give the boot phases (see kvrun_phases).
# Sourced by run.sh; writes $data/true.<runtime>, $data/first.<runtime>, $data/phases.

# kvrun_phases TIMER_LINE LOG: prints "cli vmm kernel create start exit" in ms.
#   cli     kvrun started -> monitor about to spawn kvrun-vmm (state, rootfs image, fork)
#   vmm     -> the guest kernel's clock starts (first output time minus the guest's uptime
#              when it printed it, /proc/uptime: 10 ms resolution)
#   kernel  -> the agent answers on vsock (kernel boot, agent start, vsock connect)
#   create  -> CreateContainer answered (rootfs mounted, namespaces, container init forked)
#   start   -> first byte of output at the bench (stdio attached, `start`, exec, relay)
#   exit    -> `kvrun run` exited (process exit, VM stopped, container deleted)
kvrun_phases() {
  local line=$1 log=$2 uptime
  uptime=$(field "$line" first_line)
  uptime=${uptime%%_*}
  [[ $uptime =~ ^[0-9]+\.[0-9]+$ ]] || die "kvrun: no guest uptime in the output ($uptime)"
  TZ=UTC awk -v t0="$(field "$line" start_realtime_ns)" -v first="$(field "$line" first_output_ms)" \
    -v total="$(field "$line" total_ms)" -v uptime="$uptime" '
    # "2026-11-23T16:24:09.123456789Z" as ms after t0 (seconds and nanoseconds kept apart:
    # a double cannot hold nanoseconds since 1970).
    function at(ts,   day, time, fraction) {
      day = substr(ts, 1, 10); time = substr(ts, 12, 8); fraction = substr(ts, 21, 9)
      gsub("-", " ", day); gsub(":", " ", time)
      return (mktime(day " " time) - t0s) * 1000 + (fraction - t0ns) / 1e6
    }
    BEGIN { t0s = substr(t0, 1, 10) + 0; t0ns = substr(t0, 11) + 0 }
    /phase: launching sandbox/ { launch = at($1) }
    /phase: agent answered/ { agent = at($1) }
    /phase: container created/ { created = at($1) }
    END {
      if (launch == "" || agent == "" || created == "") exit 1
      kernel_start = first - uptime * 1000
      printf "%.1f %.1f %.1f %.1f %.1f %.1f\n", launch, kernel_start - launch, \
        agent - kernel_start, created - agent, first - created, total - first
    }' "$log" || die "kvrun: phase lines missing in $log (needs the monitor's --debug phase log)"
}

bench_latency() {
  local round runtime line order i
  # Warm-up, not measured: kvrun builds its rootfs image, every runtime's files get cached.
  for runtime in "${runtimes[@]}"; do launch "$runtime" true "warm-$runtime" >/dev/null; done
  for ((round = 0; round < runs; round++)); do
    order=()
    for ((i = 0; i < ${#runtimes[@]}; i++)); do
      order+=("${runtimes[$(((round + i) % ${#runtimes[@]}))]}")
    done
    for runtime in "${order[@]}"; do
      line=$(launch "$runtime" true "true-$round")
      field "$line" total_ms >>"$data/true.$runtime"
      if [[ $runtime == kvrun ]]; then
        local log=$work/logs/kvrun-uptime-$round.log
        line=$(launch kvrun uptime "uptime-$round" --debug --log "$log")
        kvrun_phases "$line" "$log" >>"$data/phases"
      else
        line=$(launch "$runtime" uptime "uptime-$round")
      fi
      field "$line" first_output_ms >>"$data/first.$runtime"
    done
    echo "$me: latency: round $((round + 1))/$runs done (at ${SECONDS} s)" >&2
  done
}
