# bench/containers section: concurrent launches. --concurrency `run`s of /bin/true are started
# at once per runtime (rounds interleaved across runtimes); launches per second = N / wall time
# until the last exits; 3 rounds, 1 with --quick or nested. Sourced by run.sh; writes $data/concurrency.<runtime> (one rate a round).

bench_concurrency() {
  local rounds=3 round runtime line
  ((quick || nested)) && rounds=1
  for ((round = 0; round < rounds; round++)); do
    for runtime in "${runtimes[@]}"; do
      runtime_argv "$runtime"
      local err=$work/logs/$runtime-parallel-$round.err
      line=$("$timer" --timeout 900 --parallel "$concurrency" -- "${argv[@]}" run \
        --bundle "$work/bundles/true" "par-$round-{}" 2>"$err") ||
        { tail -5 "$err" >&2; die "$runtime: concurrent launches failed: $line"; }
      awk -v n="$concurrency" -v ms="$(field "$line" wall_ms)" 'BEGIN { printf "%.2f\n", n / (ms / 1000) }' \
        >>"$data/concurrency.$runtime"
    done
  done
}
