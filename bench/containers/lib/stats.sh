# bench/containers: small statistics over files of numbers, one a line. Sourced by run.sh.

# percentile P FILE: nearest-rank percentile (p50 of 30 values is the 15th smallest).
percentile() {
  sort -g "$2" | awk -v p="$1" '{ v[NR] = $1 }
    END { if (NR == 0) { print "null"; exit }
          i = int(p / 100 * NR); if (i < p / 100 * NR) i++; if (i < 1) i = 1; print v[i] }'
}

# ratio A B: A / B with two decimals, "null" if either is missing.
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "null" || b == "null" || b == 0) print "null";
                                   else printf "%.2f", a / b }'
}

# mib KIB: KiB as MiB with one decimal.
mib() { awk -v k="$1" 'BEGIN { if (k == "null" || k == "") print "null"; else printf "%.1f", k / 1024 }'; }

# field LINE KEY: the value of KEY=value in a key=value line.
field() {
  local kv
  for kv in $1; do
    if [[ ${kv%%=*} == "$2" ]]; then
      echo "${kv#*=}"
      return
    fi
  done
  echo null
}
