# bench/io section: virtio-blk sequential read, guest vs host on the same image file.
# Sourced by bench/io/run.sh (which provides $work, $size, $runs, drop_caches, guest_initramfs,
# run_guest, median, report).

bench_blk() {
  local image=$work/blk.img initrd guest host i mbps
  dd if=/dev/urandom of="$image" bs=1M count="$size" status=none
  initrd=$(guest_initramfs blk "$repo/bench/io/guest/blk.sh")

  guest=()
  host=()
  for ((i = 0; i < runs; i++)); do
    drop_caches
    # GNU dd's summary: "N bytes (...) copied, S s, ..."; MB/s = 10^6 bytes per second.
    mbps=$(dd if="$image" of=/dev/null bs=1M 2>&1 |
      awk '/copied/ { for (f = 1; f <= NF; f++) if ($f ~ /^copied/) s = $(f + 1);
                      printf "%.0f", $1 / s / 1e6 }')
    host+=("$mbps")

    drop_caches
    run_guest "$initrd" "" --disk "$image,ro"
    mbps=$(sed -n 's/.*bench-io: blk bytes=\([0-9]*\) centiseconds=\([0-9]*\).*/\1 \2/p' \
      "$work/console.log" | awk '{ if ($2 > 0) printf "%.0f", $1 / ($2 / 100) / 1e6 }')
    [[ -n $mbps ]] || { tail -20 "$work/console.log" >&2; die "blk: no result from the guest"; }
    guest+=("$mbps")
  done
  report "virtio-blk seq read (${size} MiB)" "$(printf '%s\n' "${guest[@]}" | median)" \
    "$(printf '%s\n' "${host[@]}" | median)" "MB/s"
}
