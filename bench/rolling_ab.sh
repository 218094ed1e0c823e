#!/usr/bin/env bash
# rolling_stats, two builds side by side: the 6-window benchmark of bench/rolling.sh
# (generate, seed 42 -> rolling_stats PRICE, windows 10 .. 10^6, stats mean var min max =
# 24 columns -> keep PRICE -> /dev/null), run alternately with build A and build B so that
# both see the same machine load.
#
#   bench/rolling_ab.sh BUILD_A BUILD_B        # e.g. build-main build
#   TICKS=1000000 RUNS=7 bench/rolling_ab.sh build-main build
#
# Prints, per build, the median over RUNS of the rolling_stats node's own time (its --stats
# time_ms) and of the whole run's CPU (user + system), in ns per tick. Environment: TICKS
# (default 10000000), RUNS (default 5), THREADS (default 1: one worker, so CPU is the EP's
# path plus the source).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/bench/data"
TICKS=${TICKS:-10000000}
RUNS=${RUNS:-5}
THREADS=${THREADS:-1}
[[ $# == 2 ]] || { echo "usage: bench/rolling_ab.sh BUILD_A BUILD_B" >&2; exit 2; }
mkdir -p "$DATA"

# Private copies of each build's binary and library, so a rebuild during the run changes nothing.
declare -a BIN
for i in 0 1; do
  dir=$(cd "${@:i+1:1}" && pwd)
  copy="$DATA/bin-ab-$i"
  rm -rf "${copy:?}" && mkdir -p "$copy"
  cp "$dir/tickflow" "$copy/" && cp -P "$dir"/libtickflow.so* "$copy/"
  BIN[i]="$copy"
done

GRAPH="$DATA/roll6_ab.yaml"
printf 'tickflow: 1\nnodes:\n  trades: {ep: generate, kind: trades, count: %s, interval: 1ms, seed: 42}\n' "$TICKS" >"$GRAPH"
printf '  roll: {ep: rolling_stats, in: trades, field: PRICE, windows: [10, 100, 1000, 10000, 100000, 1000000], stats: [mean, var, min, max]}\n' >>"$GRAPH"
printf '  kept: {ep: keep, in: roll, fields: [PRICE]}\n  out: {ep: write_csv, in: kept, path: /dev/null}\n' >>"$GRAPH"

one_run() { # one_run BINDIR -> "ep_ms cpu_s"
  LD_LIBRARY_PATH="$1" /usr/bin/time -f '%U %S' -o "$DATA/ab_cpu.txt" "$1/tickflow" run "$GRAPH" \
    --threads "$THREADS" --stats --no-progress 2>"$DATA/ab_stats.txt" >/dev/null
  printf '%s %s\n' \
    "$(awk '$1 == "node" {for (i = 1; i <= NF; i++) if ($i == "time_ms") c = i} $1 == "roll" {print $c}' "$DATA/ab_stats.txt")" \
    "$(awk '{print $1 + $2}' "$DATA/ab_cpu.txt")"
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

declare -a EP CPU
for _ in $(seq "$RUNS"); do
  for i in 0 1; do
    read -r ep cpu <<<"$(one_run "${BIN[i]}")"
    EP[i]+="$ep "
    CPU[i]+="$cpu "
  done
done
printf 'ticks %s, runs %s (alternating), --threads %s, %s cores, load average before/after: see uptime\n' \
  "$TICKS" "$RUNS" "$THREADS" "$(nproc)"
printf '| build | rolling_stats --stats time, ns/tick (median) | whole-run CPU, ns/tick (median) | runs (ms) |\n|---|---:|---:|---|\n'
for i in 0 1; do
  ep_med=$(tr ' ' '\n' <<<"${EP[i]}" | sed '/^$/d' | median)
  cpu_med=$(tr ' ' '\n' <<<"${CPU[i]}" | sed '/^$/d' | median)
  printf '| %s | %.1f | %.1f | %s|\n' "${@:i+1:1}" "$(awk -v m="$ep_med" -v t="$TICKS" 'BEGIN {print m * 1e6 / t}')" \
    "$(awk -v s="$cpu_med" -v t="$TICKS" 'BEGIN {print s * 1e9 / t}')" "${EP[i]}"
done
