#!/usr/bin/env bash
# Side-by-side CPU cost of apitap and tshark on the same captures
# (docs/performance.md). Generates keep-alive JSON API captures of 20k and
# 200k exchanges with internal/pcapgen, runs each tool 3 times, takes the
# median user+sys CPU seconds, and prints the ratio, also on the marginal
# cost (200k minus 20k) which removes start-up time.
#   scripts/bench-peers.sh            # needs bin/apitap (make build) and tshark
#   RUNS=5 SIZES="20000 200000" scripts/bench-peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SIZES=${SIZES:-"20000 200000"}
dir=${BENCH_DIR:-$(mktemp -d)}
command -v tshark >/dev/null || { echo "tshark not installed (make deps)"; exit 1; }
[ -x bin/apitap ] || { echo "bin/apitap missing (make build)"; exit 1; }

cpu() { # prints "cpu_seconds max_rss_kb" of a command
  /usr/bin/time -f "%U %S %M" -o "$dir/time" "$@" >"$dir/out" 2>"$dir/err" || { cat "$dir/err"; exit 1; }
  awk '{printf "%.3f %d\n", $1+$2, $3}' "$dir/time"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A A T AR TR
for n in $SIZES; do
  f="$dir/http-$n.pcap"
  [ -f "$f" ] || go run ./internal/pcapgen/gen -o "$f" -n "$n" -conns $(( n >= 100000 ? 100 : 50 )) -gzip 0 >/dev/null
  as=(); ts=(); ar=0; tr=0
  for i in $(seq "$RUNS"); do
    read -r c r < <(GOMAXPROCS=1 cpu bin/apitap sensor --pcap "$f" --workers 1 --output null --log-level warn)
    as+=("$c"); ar=$r
    got=$(grep -c . "$dir/out" || true)
    read -r c r < <(cpu tshark -n -r "$f" -Y http.request -T fields -e http.request.method -e http.request.uri)
    ts+=("$c"); tr=$r
    treq=$(grep -c . "$dir/out" || true)
  done
  A[$n]=$(printf '%s\n' "${as[@]}" | median); T[$n]=$(printf '%s\n' "${ts[@]}" | median)
  AR[$n]=$ar; TR[$n]=$tr
  # Check apitap's count on this file once.
  cnt=$(bin/apitap sensor --pcap "$f" --workers 1 --output jsonl:- --log-level warn | grep -c '"status":')
  printf "%-8s apitap %6ss CPU (%6d KB RSS, %d exchanges)   tshark %7ss CPU (%6d KB RSS, %d requests)   ratio %.1fx\n" \
    "$n" "${A[$n]}" "${AR[$n]}" "$cnt" "${T[$n]}" "${TR[$n]}" "$treq" "$(echo "${T[$n]} / ${A[$n]}" | bc -l)"
done
set -- $SIZES
if [ $# -ge 2 ]; then
  lo=$1; hi=$2; dn=$((hi - lo))
  am=$(echo "(${A[$hi]} - ${A[$lo]}) * 1000000 / $dn" | bc -l)
  tm=$(echo "(${T[$hi]} - ${T[$lo]}) * 1000000 / $dn" | bc -l)
  printf "marginal per exchange: apitap %.2f µs   tshark %.1f µs   ratio %.1fx   apitap %.0f exchanges/CPU-s\n" \
    "$am" "$tm" "$(echo "$tm / $am" | bc -l)" "$(echo "1000000 / $am" | bc -l)"
fi
