#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan, every library instrumented)
# in build-fuzz/ and runs each for N seconds, starting from its seed corpus fuzz/corpus/<name>/
# (copied, so the source tree is not written). Prints each fuzzer's executions per second.
#
# Usage: scripts/fuzz.sh [SECONDS] [FUZZER...]     (default 30 s each, all fuzzers)
# Exit status: 0 nothing found, 1 a fuzzer crashed, leaked or reported (its output and the
# reproducer path are printed), 2 build failure.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${1:-30}
shift || true
[[ $seconds =~ ^[1-9][0-9]*$ ]] || { echo "fuzz.sh: SECONDS must be a positive number" >&2; exit 2; }
build=${KVRUN_FUZZ_BUILD_DIR:-$repo/build-fuzz}
sanitize="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"

mkdir -p "$build"
if ! cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_C_FLAGS="$sanitize" -DCMAKE_CXX_FLAGS="$sanitize" \
    -DKVRUN_FUZZ=ON -DKVRUN_WERROR=OFF >"$build/configure.log" 2>&1; then
  cat "$build/configure.log" >&2
  echo "fuzz.sh: configure failed" >&2
  exit 2
fi
mapfile -t all < <(grep -v '^$' "$build/fuzzers.txt")
fuzzers=("${@:-${all[@]}}")
if ! cmake --build "$build" -j2 --target "${fuzzers[@]}" >"$build/build.log" 2>&1; then
  tail -40 "$build/build.log" >&2
  echo "fuzz.sh: build failed (log: $build/build.log)" >&2
  exit 2
fi

status=0
printf '%-24s %10s %12s %s\n' fuzzer "execs/s" "total runs" result
for name in "${fuzzers[@]}"; do
  binary=$(find "$build/fuzz" -type f -name "$name" -perm -u+x | head -1)
  [[ -n $binary ]] || { echo "fuzz.sh: no binary for $name" >&2; status=1; continue; }
  work=$build/corpus/$name
  artifacts=$build/artifacts/$name/
  mkdir -p "$work" "$artifacts"
  seeds=$(find "$repo/fuzz" -type d -path "*/corpus/$name" | head -1)
  [[ -n $seeds ]] && cp -n "$seeds"/* "$work"/ 2>/dev/null || true
  log=$build/$name.log
  if "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts" "$work" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (log: $log)"
    status=1
  fi
  execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-24s %10s %12s %s\n' "$name" "${execs:-?}" "${runs:-?}" "$result"
  if [[ $result != ok ]]; then
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
  fi
done
exit $status
