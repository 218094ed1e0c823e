#!/usr/bin/env bash
# The expression benchmark of bench/expr_bench.cpp (generate -> add_field {N: PRICE * SIZE,
# M: if(SIZE > 500, N / 2, N)} -> where N > 1000) with two builds, run alternately so that
# both see the same machine load: for comparing a change to add_field or where.
#
#   bench/expr_ab.sh BUILD_A BUILD_B          # e.g. build-main build (Release builds)
#   TICKS=3000000 RUNS=6 bench/expr_ab.sh build-main build
#
# Prints, per build, the median over RUNS of expr_bench's own medians, in ns per tick: the
# hand-written loop, tickflow's add_field + where operators called directly (both where ports
# read: ticks are split), and the whole graph through the executor (where's fail port unread).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TICKS=${TICKS:-3000000}
RUNS=${RUNS:-6}
[[ $# == 2 ]] || { echo "usage: bench/expr_ab.sh BUILD_A BUILD_B" >&2; exit 2; }
for dir in "$@"; do
  cmake --build "$dir" --target expr_bench >/dev/null || exit 1
done

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, $TICKS ticks, $RUNS runs each"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for _ in $(seq "$RUNS"); do
  for i in 1 2; do
    "${!i}/bench/expr_bench" "$TICKS" | awk -v b="${!i}" '/_ns_per_tick/ {print b, $1, $2}' >>"$results"
  done
done
for dir in "$@"; do
  for key in hand_loop_ns_per_tick tickflow_operators_ns_per_tick tickflow_executor_run_ns_per_tick; do
    awk -v b="$dir" -v k="$key" '$1 == b && $2 == k {print $3}' "$results" | sort -n |
      awk -v b="$dir" -v k="$key" '{v[NR] = $1} END {printf "%s %s %.2f\n", b, k, (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2}'
  done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
