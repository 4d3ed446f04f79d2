# bench/containers section: memory of one idle sandbox per runtime. `run -d` of `sleep`, a few
# seconds to settle, then bench/containers/process_memory.cpp over the sandbox's process tree:
# kvrun = monitor + kvrun-vmm (VMM RSS and PSS, guest RAM touched, VMM overhead = RSS without
# guest RAM); runc/crun = the container's processes (the runtimes exit after `run -d`).
# Sourced by run.sh; writes $data/memory.<runtime> (process-memory's key=value line).

bench_memory() {
  local runtime id pid
  for runtime in "${runtimes[@]}"; do
    id=idle-$runtime
    pid=$(start_idle "$runtime" "$id")
    sleep "$settle_s"
    "$memory_tool" "$pid" >"$data/memory.$runtime" || die "$runtime: memory of $id not measured"
    stop_idle "$runtime" "$id"
  done
}
