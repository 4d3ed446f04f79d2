# bench/containers section: density. Idle kvrun sandboxes (`run -d` of `sleep`) are started one
# by one; after each, the summed PSS of all of them is measured. The next one is not started
# when the sum plus the average so far would pass --budget MiB: the count then running "fits".
# Capped at 64 sandboxes (2 with --quick) and at the host's available memory minus 256 MiB.
# runc/crun are not started by the thousand here: their figure is the budget divided by the
# idle PSS of the memory section, marked as estimated. Sourced by run.sh; writes $data/density.

bench_density() {
  local cap=64 started=0 sum_kib=0 budget_kib=$((budget_mib * 1024)) available_kib reason line
  local ids=() pids=()
  ((quick)) && cap=2
  available_kib=$(awk '/^MemAvailable:/ { print $2 - 256 * 1024 }' /proc/meminfo)
  if ((available_kib < budget_kib)); then
    echo "$me: density: budget $budget_mib MiB is more than this machine has free;" \
      "using $((available_kib / 1024)) MiB" >&2
    budget_kib=$available_kib
  fi
  reason="budget"
  for (( ; ; )); do
    if ((started >= cap)); then
      reason="cap of $cap sandboxes"
      break
    fi
    if ((started > 0 && sum_kib + sum_kib / started > budget_kib)); then break; fi
    ids+=("dense-$started")
    pids+=("$(start_idle kvrun "dense-$started")")
    started=$((started + 1))
    sleep "$settle_s"
    line=$("$memory_tool" "${pids[@]}") || die "density: memory not measured"
    sum_kib=$(field "$line" pss_kib)
    echo "$me: density: $started sandboxes, summed PSS $((sum_kib / 1024)) MiB" >&2
  done
  local id
  for id in "${ids[@]}"; do stop_idle kvrun "$id"; done
  echo "budget_kib=$budget_kib sandboxes=$started pss_kib=$sum_kib limited_by=${reason// /_}" \
    >"$data/density"
}
