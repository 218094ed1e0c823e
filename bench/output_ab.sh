#!/usr/bin/env bash
# Output formatting A/B: the same wide-output query run by two tickflow binaries,
# interleaved, RUNS runs each, medians of wall time. The query is generate ->
# rolling_stats (6 windows x mean/var/min/max = 24 double columns per tick) -> a CSV or
# JSON-lines file, so most of the run is formatting output.
#   bench/output_ab.sh BASELINE_TICKFLOW NEW_TICKFLOW [TICKS] [THREADS...]
# Env: RUNS (default 5), FORMAT (csv|jsonl, default csv).
set -euo pipefail
base=$(realpath "$1")
new=$(realpath "$2")
ticks=${3:-2000000}
shift $(($# > 3 ? 3 : $#))
threads=("$@")
((${#threads[@]})) || threads=(1 2)
runs=${RUNS:-5}
format=${FORMAT:-csv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/q.yaml" <<YAML
tickflow: 1
nodes:
  trades: {ep: generate, kind: trades, count: $ticks, interval: 10ms, seed: 3}
  roll: {ep: rolling_stats, in: trades, field: PRICE, windows: [10, 100, 1000, 10000, 100000, 1000000], stats: [mean, var, min, max]}
output: roll
YAML
wall() { # binary threads -> seconds
  local start end
  start=$(date +%s.%N)
  "$1" run "$work/q.yaml" --threads "$2" --no-progress -o "$work/out.$format"
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "ticks=$ticks format=$format runs=$runs cores=$(nproc)"
printf '%-8s %10s %10s %12s %12s %8s\n' threads base_s new_s base_ns/tick new_ns/tick speedup
for t in "${threads[@]}"; do
  a=() b=()
  for ((r = 0; r < runs; ++r)); do
    a+=("$(wall "$base" "$t")")
    b+=("$(wall "$new" "$t")")
  done
  ma=$(printf '%s\n' "${a[@]}" | median)
  mb=$(printf '%s\n' "${b[@]}" | median)
  awk -v t="$t" -v a="$ma" -v b="$mb" -v n="$ticks" \
    'BEGIN {printf "%-8s %10.2f %10.2f %12.0f %12.0f %7.2fx\n", t, a, b, a*1e9/n, b*1e9/n, a/b}'
done
echo "output: $(stat -c %s "$work/out.$format") bytes"
