#!/usr/bin/env bash
# Expression benchmark (docs/performance.md, "Expressions (issue 3)"):
#
#   generate -> add_field {N: PRICE * SIZE, M: if(SIZE > 500, N / 2, N)} -> where N > 1000
#
#   bench/expressions.sh                 # 10M ticks
#   TICKS=1000000 bench/expressions.sh   # a quicker run
#
# Prints, in ns per tick:
#   1. expr_bench: a hand-written C++ loop, tickflow's add_field + where operators on the same
#      in-memory batches, and the whole graph through the executor (one thread);
#   2. pandas doing the same computation on the same columns;
#   3. the tickflow CLI running the whole graph with the output discarded (where feeds
#      `tail {n: 1}`, so one tick is printed), beside the same graph without add_field and where.
# Environment: BUILD_DIR (default build/, Release), TICKS, RUNS (default 3, CLI runs; the best is
# reported). Needs /usr/bin/python3 with pandas. Run it on an otherwise idle machine.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/bench/data/expressions"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
TICKS=${TICKS:-10000000}
RUNS=${RUNS:-3}
mkdir -p "$DATA"

cmake --build "$BUILD_DIR" --target tickflow expr_bench >"$DATA/build.log" 2>&1 ||
  { tail -n 30 "$DATA/build.log" >&2; exit 1; }
[[ "$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")" == Release ]] ||
  { echo "expressions.sh: $BUILD_DIR is not a Release build" >&2; exit 1; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
"$BUILD_DIR/bench/expr_bench" "$TICKS" "$DATA"
/usr/bin/python3 "$ROOT/bench/expr_pandas.py" "$DATA"

write_graph() {  # write_graph FILE WITH_EXPRESSIONS
  {
    printf 'tickflow: 1\nnodes:\n  trades:\n    ep: generate\n    count: %s\n    seed: 7\n' "$TICKS"
    local last=trades
    if [[ "$2" == 1 ]]; then
      printf '  calc:\n    ep: add_field\n    in: trades\n    set:\n'
      printf '      N: PRICE * SIZE\n      M: if(SIZE > 500, N / 2, N)\n'
      printf '  big:\n    ep: where\n    in: calc\n    if: N > 1000\n'
      last=big
    fi
    printf '  last:\n    ep: tail\n    in: %s\n    n: 1\noutput: last\n' "$last"
  } >"$1"
}
write_graph "$DATA/with_exprs.yaml" 1
write_graph "$DATA/generate_only.yaml" 0

best_ns_per_tick() {  # best_ns_per_tick GRAPH: best wall time of RUNS runs, per tick
  local best=
  for _ in $(seq "$RUNS"); do
    local start end
    start=$(date +%s%N)
    "$BUILD_DIR/tickflow" run "$1" --no-progress >/dev/null
    end=$(date +%s%N)
    if [[ -z "$best" || $((end - start)) -lt $best ]]; then best=$((end - start)); fi
  done
  awk -v ns="$best" -v n="$TICKS" 'BEGIN { printf "%.2f", ns / n }'
}
echo "cli_generate_add_field_where_tail_ns_per_tick $(best_ns_per_tick "$DATA/with_exprs.yaml")"
echo "cli_generate_tail_ns_per_tick $(best_ns_per_tick "$DATA/generate_only.yaml")"
