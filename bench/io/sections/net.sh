# bench/io section: virtio-net TCP throughput, guest <-> network namespace over a tap, vs the
# same stream between two namespaces over a veth pair (kvrun-net-bench, bench/io/net/). The
# "host" column is veth; the goal is virtio-net >= 50% of it.
# Sourced by bench/io/run.sh (which provides $build_dir, $kernel, $size, $runs, $work, median,
# report, die).

bench_net() {
  local bench=$build_dir/tests/vm/virtio-net/kvrun-net-bench out i
  [[ -x $bench ]] || die "net: no $bench: build the kvrun-net-bench target first"
  if [[ ! -c /dev/net/tun && -n ${KVRUN_NET_MODULES:-} ]]; then
    # The nested L1 kernel has tun and veth as modules (see docs/virtio-net.md).
    busybox insmod "$KVRUN_NET_MODULES/tun.ko" && busybox insmod "$KVRUN_NET_MODULES/veth.ko"
  fi
  [[ -c /dev/net/tun ]] || die "net: no /dev/net/tun (load tun.ko; see docs/virtio-net.md)"

  local to_net=() to_veth=() from_net=() from_veth=()
  for ((i = 0; i < runs; i++)); do
    "$bench" --mib "$size" --kernel "$kernel" >"$work/net.log" 2>&1 ||
      { tail -20 "$work/net.log" >&2; die "net: kvrun-net-bench failed"; }
    # Rows: "to the namespace   <net> MB/s   <veth> MB/s   <ratio>%"
    out=$(awk '/^to the namespace/ { print $4, $6 }' "$work/net.log")
    to_net+=("${out% *}")
    to_veth+=("${out#* }")
    out=$(awk '/^from the namespace/ { print $4, $6 }' "$work/net.log")
    from_net+=("${out% *}")
    from_veth+=("${out#* }")
  done
  report "virtio-net TCP to netns" "$(printf '%s\n' "${to_net[@]}" | median)" \
    "$(printf '%s\n' "${to_veth[@]}" | median)" "MB/s (host: veth)"
  report "virtio-net TCP from netns" "$(printf '%s\n' "${from_net[@]}" | median)" \
    "$(printf '%s\n' "${from_veth[@]}" | median)" "MB/s (host: veth)"
}
