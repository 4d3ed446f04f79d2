# bench/containers: the results as a terminal table, JSON and a PNG chart. Sourced by run.sh
# after the sections; reads $data. Figures a section did not measure are "null" ("-" in the
# table).

# --- figures ---------------------------------------------------------------------------------------
declare -A figure # figure[<runtime>.<name>], figure[phase.<name>], figure[density.<name>], ...
phase_names=(cli vmm kernel create start exit)

collect_figures() {
  local runtime kind line name i
  for runtime in "${runtimes[@]}"; do
    for kind in true first; do
      if [[ -s $data/$kind.$runtime ]]; then
        figure[$runtime.${kind}_p50]=$(percentile 50 "$data/$kind.$runtime")
        figure[$runtime.${kind}_p95]=$(percentile 95 "$data/$kind.$runtime")
      fi
    done
    if [[ -s $data/memory.$runtime ]]; then
      line=$(<"$data/memory.$runtime")
      local names=(rss_kib pss_kib)
      # The VMM split and the monitor (the rest of the tree) exist for kvrun only.
      [[ $runtime != kvrun ]] || names+=(vmm_rss_kib vmm_pss_kib guest_touched_kib
        vmm_overhead_rss_kib vmm_overhead_pss_kib other_pss_kib)
      for name in "${names[@]}"; do
        figure[$runtime.$name]=$(field "$line" "$name")
      done
    fi
    [[ ! -s $data/concurrency.$runtime ]] ||
      figure[$runtime.launches_per_s]=$(percentile 50 "$data/concurrency.$runtime")
  done
  if [[ -s $data/phases ]]; then
    for i in "${!phase_names[@]}"; do
      awk -v c=$((i + 1)) '{ print $c }' "$data/phases" >"$data/phase.$i"
      figure[phase.${phase_names[$i]}]=$(percentile 50 "$data/phase.$i")
    done
  fi
  if [[ -s $data/density ]]; then
    line=$(<"$data/density")
    for name in budget_kib sandboxes pss_kib limited_by; do
      figure[density.$name]=$(field "$line" "$name")
    done
    for runtime in runc crun; do
      [[ -z ${figure[$runtime.pss_kib]:-} ]] || figure[density.${runtime}_estimated]=$(awk \
        -v b="${figure[density.budget_kib]}" -v p="${figure[$runtime.pss_kib]}" \
        'BEGIN { if (p > 0) printf "%d", b / p; else print "null" }')
    done
  fi
}

get() { echo "${figure[$1]:-null}"; }
show() { local v=${figure[$1]:-null}; [[ $v == null ]] && echo "-" || echo "$v"; }
show_mib() { local v=${figure[$1]:-null}; [[ $v == null ]] && echo "-" || mib "$v"; }

# goal NAME VALUE LIMIT: "met" / "not met" / "-" for VALUE <= LIMIT.
goal() {
  awk -v v="$2" -v l="$3" 'BEGIN { if (v == "null" || v == "") print "-";
                                   else if (v + 0 <= l + 0) print "met"; else print "not met" }'
}

machine_line() {
  local cpu
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  echo "$(hostname), ${cpu:-unknown CPU}, $(nproc) CPUs," \
    "$(awk '/^MemTotal:/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo), Linux $(uname -r)"
}
version_of() { "$@" --version 2>/dev/null | head -n 1; }

collect_figures
e2e_ratio=$(ratio "$(get kvrun.true_p50)" "$(get runc.true_p50)")
kvrun_idle_mib=$(mib "$(get kvrun.pss_kib)")
vmm_overhead_mib=$(mib "$(get kvrun.vmm_overhead_rss_kib)")

# --- table -----------------------------------------------------------------------------------------
report_table() {
  local row runtime
  echo
  echo "containers: busybox bundle, $runs interleaved runs per runtime and kind, on $(machine_line)"
  echo "runtimes: $(version_of runc), $(version_of crun), kvrun $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')"
  ((nested)) && echo "NOTE: nested KVM on QEMU TCG (scripts/with-nested-kvm.sh): all three runtimes run" \
    "emulated; functional numbers, not real speed"
  printf '%-34s %10s %10s %10s %11s\n' "" runc crun kvrun kvrun/runc
  for row in "true_p50:/bin/true end-to-end p50 ms" "true_p95:/bin/true end-to-end p95 ms" \
    "first_p50:time to first output p50 ms" "first_p95:time to first output p95 ms"; do
    printf '%-34s %10s %10s %10s %11s\n' "${row#*:}" "$(show "runc.${row%%:*}")" \
      "$(show "crun.${row%%:*}")" "$(show "kvrun.${row%%:*}")" \
      "$(ratio "$(get "kvrun.${row%%:*}")" "$(get "runc.${row%%:*}")" | sed 's/null/-/')"
  done
  printf '%-34s %10s %10s %10s %11s\n' "idle sandbox PSS MiB" "$(show_mib runc.pss_kib)" \
    "$(show_mib crun.pss_kib)" "$(show_mib kvrun.pss_kib)" ""
  printf '%-34s %10s %10s %10s %11s\n' "idle sandbox RSS MiB" "$(show_mib runc.rss_kib)" \
    "$(show_mib crun.rss_kib)" "$(show_mib kvrun.rss_kib)" ""
  printf '%-34s %10s %10s %10s %11s\n' "launches/s, $concurrency at once (p50)" \
    "$(show runc.launches_per_s)" "$(show crun.launches_per_s)" "$(show kvrun.launches_per_s)" ""
  echo
  echo "kvrun boot phases, p50 ms: CLI $(show phase.cli) | VMM start $(show phase.vmm) |" \
    "kernel + agent ready $(show phase.kernel) | container created $(show phase.create) |" \
    "process started, first output $(show phase.start) | exit + teardown $(show phase.exit)"
  echo "kvrun idle sandbox, MiB: VMM RSS $(show_mib kvrun.vmm_rss_kib), VMM PSS" \
    "$(show_mib kvrun.vmm_pss_kib), guest RAM touched $(show_mib kvrun.guest_touched_kib)," \
    "VMM overhead (RSS without guest RAM) $(show_mib kvrun.vmm_overhead_rss_kib), monitor PSS" \
    "$(show_mib kvrun.other_pss_kib)"
  if [[ -n ${figure[density.sandboxes]:-} ]]; then
    echo "density, budget $(show_mib density.budget_kib) MiB: $(show density.sandboxes) idle kvrun" \
      "sandboxes (summed PSS $(show_mib density.pss_kib) MiB, stopped by ${figure[density.limited_by]//_/ });" \
      "estimated from idle PSS: runc $(show density.runc_estimated), crun $(show density.crun_estimated)"
  fi
  echo "goals: kvrun end-to-end within 2x of runc: ${e2e_ratio/null/-}x $(goal e2e "$e2e_ratio" 2);" \
    "VMM overhead under 5 MiB: ${vmm_overhead_mib/null/-} $(goal vmm "$vmm_overhead_mib" 5);" \
    "idle sandbox under 32 MiB: ${kvrun_idle_mib/null/-} $(goal idle "$kvrun_idle_mib" 32)"
}

# --- JSON ------------------------------------------------------------------------------------------
json_string() {
  local s=${1//\\/\\\\}
  printf '"%s"' "${s//\"/\\\"}"
}

report_json() {
  local runtime name first
  printf '{\n  "machine": %s,\n  "nested_kvm_on_tcg": %s,\n  "runs": %s,\n' \
    "$(json_string "$(machine_line)")" "$( ((nested)) && echo true || echo false)" "$runs"
  printf '  "versions": {"runc": %s, "crun": %s, "kvrun": %s},\n' \
    "$(json_string "$(version_of runc)")" "$(json_string "$(version_of crun)")" \
    "$(json_string "$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)")"
  printf '  "latency_ms": {'
  first=1
  for runtime in "${runtimes[@]}"; do
    ((first)) || printf ','
    first=0
    printf '\n    "%s": {"true_p50": %s, "true_p95": %s, "first_output_p50": %s, "first_output_p95": %s}' \
      "$runtime" "$(get "$runtime.true_p50")" "$(get "$runtime.true_p95")" \
      "$(get "$runtime.first_p50")" "$(get "$runtime.first_p95")"
  done
  printf '\n  },\n  "kvrun_phases_p50_ms": {'
  first=1
  for name in "${phase_names[@]}"; do
    ((first)) || printf ', '
    first=0
    printf '"%s": %s' "$name" "$(get "phase.$name")"
  done
  printf '},\n  "memory_kib": {'
  first=1
  for runtime in "${runtimes[@]}"; do
    ((first)) || printf ','
    first=0
    printf '\n    "%s": {"rss": %s, "pss": %s, "vmm_rss": %s, "vmm_pss": %s, "guest_touched": %s,' \
      "$runtime" "$(get "$runtime.rss_kib")" "$(get "$runtime.pss_kib")" \
      "$(get "$runtime.vmm_rss_kib")" "$(get "$runtime.vmm_pss_kib")" \
      "$(get "$runtime.guest_touched_kib")"
    printf ' "vmm_overhead_rss": %s, "vmm_overhead_pss": %s, "monitor_pss": %s}' \
      "$(get "$runtime.vmm_overhead_rss_kib")" "$(get "$runtime.vmm_overhead_pss_kib")" \
      "$(get "$runtime.other_pss_kib")"
  done
  printf '\n  },\n  "density": {"budget_kib": %s, "kvrun_sandboxes": %s, "kvrun_pss_kib": %s,' \
    "$(get density.budget_kib)" "$(get density.sandboxes)" "$(get density.pss_kib)"
  printf ' "limited_by": %s, "runc_estimated": %s, "crun_estimated": %s},\n' \
    "$(json_string "${figure[density.limited_by]:-}")" "$(get density.runc_estimated)" \
    "$(get density.crun_estimated)"
  printf '  "concurrency": {"at_once": %s, "launches_per_s_p50": {"runc": %s, "crun": %s, "kvrun": %s}},\n' \
    "$concurrency" "$(get runc.launches_per_s)" "$(get crun.launches_per_s)" \
    "$(get kvrun.launches_per_s)"
  printf '  "goals": {"e2e_ratio_to_runc": %s, "vmm_overhead_mib": %s, "idle_sandbox_mib": %s}\n}\n' \
    "$e2e_ratio" "$vmm_overhead_mib" "$kvrun_idle_mib"
}

# --- chart -----------------------------------------------------------------------------------------
# report_png FILE: left, grouped bars of p50/p95 per runtime; right, memory per idle sandbox.
report_png() {
  local runtime
  zero() { local v; v=$(get "$1"); [[ $v == null ]] && echo 0 || echo "$v"; }
  for runtime in "${runtimes[@]}"; do
    echo "$runtime $(zero "$runtime.true_p50") $(zero "$runtime.true_p95")" \
      "$(zero "$runtime.first_p50") $(zero "$runtime.first_p95")"
  done >"$data/chart-latency"
  for runtime in "${runtimes[@]}"; do
    echo "$runtime $(mib "$(zero "$runtime.pss_kib")") $(mib "$(zero "$runtime.guest_touched_kib")")" \
      "$(mib "$(zero "$runtime.vmm_overhead_rss_kib")")"
  done >"$data/chart-memory"
  local title="busybox bundle, $runs runs each"
  ((nested)) && title+=" (nested KVM on QEMU TCG: functional numbers, not speed)"
  gnuplot <<GP || { echo "$me: gnuplot failed: no chart" >&2; return 1; }
set terminal pngcairo size 1600,560 noenhanced font ",10"
set output "$1"
set multiplot layout 1,2 title "kvrun vs runc vs crun: $title"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top vertical
set bmargin 4
set yrange [0:*]
set title "launch latency (ms)"
plot "$data/chart-latency" using 2:xtic(sprintf("%s\\ntrue p50 %.0f ms", strcol(1), \$2)) \
       title "/bin/true p50", \
     "" using 3 title "/bin/true p95", "" using 4 title "first output p50", \
     "" using 5 title "first output p95"
set title "memory per idle sandbox (MiB)"
plot "$data/chart-memory" using 2:xtic(sprintf("%s\\nPSS %.1f MiB", strcol(1), \$2)) \
       title "PSS (all processes)", \
     "" using 3 title "guest RAM touched", "" using 4 title "VMM overhead (RSS - guest RAM)"
unset multiplot
GP
}
