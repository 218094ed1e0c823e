#!/usr/bin/env bash
# rolling_stats benchmark: per-tick output of several windows against pandas rolling().
#
#   bench/rolling.sh                    # 10M ticks; results printed as Markdown
#   TICKS=1000000 bench/rolling.sh      # quicker
#
# On TICKS synthetic trades (generate, seed 42: the same ticks as bench/data/trades_TICKS.csv,
# which pandas reads), measures:
#   six windows 10, 100, ..., 10^6 x stats mean var min max = 24 output columns per tick, and
#   one window of 1000 x mean var min max (4 columns), each as
#     - rolling_stats alone: its own time from --stats (median of RUNS runs);
#     - the whole run generate -> rolling_stats -> keep [PRICE] -> write_csv /dev/null (hyperfine);
#     - the whole run with all output columns written as CSV to /dev/null (hyperfine);
#   and the same columns with pandas Series.rolling(W, min_periods=1) (compute only, no I/O).
# A baseline generate -> keep [PRICE] -> write_csv /dev/null shows the cost outside the EP.
# Also checks on the first CHECK_TICKS ticks that tickflow and pandas agree.
#
# Environment: BUILD_DIR (default build/, a Release build), SKIP_BUILD=1, TICKS, RUNS (default 5),
# SLOW_RUNS (pandas, default 3), CHECK_TICKS (default 200000).
# Needs: cmake, ninja, hyperfine, /usr/bin/python3 with pandas (scripts/setup.sh --bench).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
DATA="$BENCH/data"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
TICKS=${TICKS:-10000000}
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-3}
CHECK_TICKS=${CHECK_TICKS:-200000}
PYTHON=/usr/bin/python3
THREADS=$(nproc)
load_before=$(cut -d" " -f1-3 /proc/loadavg)

# shellcheck source=bench/common.sh
source "$BENCH/common.sh"
bench_prepare rolling

# ---- input: the ticks generate produces, as CSV for pandas -----------------------------------
GEN="{ep: generate, kind: trades, count: $TICKS, interval: 1ms, seed: 42}"
INPUT="$DATA/trades_$TICKS.csv"
if [[ ! -f "$INPUT" ]] || (($(wc -l <"$INPUT") != TICKS + 1)); then
  log "writing $TICKS ticks to ${INPUT#"$ROOT"/}"
  printf 'tickflow: 1\nnodes:\n  trades: %s\n  out: {ep: write_csv, in: trades, path: %s}\n' \
    "$GEN" "$(basename "$INPUT")" >"$DATA/make_input.yaml"
  "$TICKFLOW" run "$DATA/make_input.yaml" --threads "$THREADS"
fi

SIX="10, 100, 1000, 10000, 100000, 1000000"
graph() { # graph FILE WINDOWS KEEP(1 = keep PRICE only)
  {
    printf 'tickflow: 1\nnodes:\n  trades: %s\n' "$GEN"
    printf '  roll: {ep: rolling_stats, in: trades, field: PRICE, windows: [%s], stats: [mean, var, min, max]}\n' "$2"
    if [[ $3 == 1 ]]; then
      printf '  kept: {ep: keep, in: roll, fields: [PRICE]}\n  out: {ep: write_csv, in: kept, path: /dev/null}\n'
    else
      printf '  out: {ep: write_csv, in: roll, path: /dev/null}\n'
    fi
  } >"$1"
}
graph "$DATA/roll6_keep.yaml" "$SIX" 1
graph "$DATA/roll6_all.yaml" "$SIX" 0
graph "$DATA/roll1_keep.yaml" 1000 1
graph "$DATA/roll1_all.yaml" 1000 0
printf 'tickflow: 1\nnodes:\n  trades: %s\n  kept: {ep: keep, in: trades, fields: [PRICE]}\n  out: {ep: write_csv, in: kept, path: /dev/null}\n' \
  "$GEN" >"$DATA/roll_baseline.yaml"

# ---- measurements -----------------------------------------------------------------------------
median_of() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ep_ms() { # ep_ms GRAPH: median over RUNS of the roll node's time_ms in --stats
  for _ in $(seq "$RUNS"); do
    "$TICKFLOW" run "$1" --threads "$THREADS" --stats 2>&1 >/dev/null |
      awk '$1 == "node" {for (i = 1; i <= NF; i++) if ($i == "time_ms") c = i} $1 == "roll" {print $c}'
  done | median_of
}
wall_s() { # wall_s NAME GRAPH: "median-wall-s mean-cpu-s" (hyperfine; CPU = user + system)
  hyperfine --shell=none --style basic --runs "$RUNS" --warmup 1 --export-json "$DATA/$1.json" \
    --command-name "$1" "$TICKFLOW run $2 --threads $THREADS" >&2
  "$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][0]; print(r["median"], r["user"] + r["system"])' "$DATA/$1.json"
}
pandas_s() { # pandas_s WINDOWS: "median-wall-s median-cpu-s" of the computation
  "$PYTHON" "$BENCH/pandas_rolling.py" "$INPUT" --windows "$1" --runs "$SLOW_RUNS" |
    "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print(d["median_s"], d["median_cpu_s"])'
}

log "rolling_stats alone (--stats), $RUNS runs each"
ep6=$(ep_ms "$DATA/roll6_keep.yaml")
ep1=$(ep_ms "$DATA/roll1_keep.yaml")
log "whole runs (hyperfine)"
read -r base_wall base_cpu <<<"$(wall_s roll_baseline "$DATA/roll_baseline.yaml")"
read -r keep6 keep6_cpu <<<"$(wall_s roll6_keep "$DATA/roll6_keep.yaml")"
read -r all6 all6_cpu <<<"$(wall_s roll6_all "$DATA/roll6_all.yaml")"
read -r keep1 keep1_cpu <<<"$(wall_s roll1_keep "$DATA/roll1_keep.yaml")"
read -r all1 all1_cpu <<<"$(wall_s roll1_all "$DATA/roll1_all.yaml")"
log "pandas rolling, $SLOW_RUNS runs each"
read -r pd6 pd6_cpu <<<"$(pandas_s "10,100,1000,10000,100000,1000000")"
read -r pd1 pd1_cpu <<<"$(pandas_s 1000)"

log "agreement with pandas on the first $CHECK_TICKS ticks"
sed "s/count: $TICKS,/count: $CHECK_TICKS,/; s#path: /dev/null#path: roll6_check.csv#" \
  "$DATA/roll6_all.yaml" >"$DATA/roll6_check.yaml"
"$TICKFLOW" run "$DATA/roll6_check.yaml"
check=$("$PYTHON" "$BENCH/pandas_rolling.py" "$INPUT" --windows "10,100,1000,10000,100000,1000000" \
  --check "$DATA/roll6_check.csv" | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)["max_relative_difference"]
by_stat = {}
for name, v in d.items():
    stat = name.split("_")[1]
    by_stat[stat] = max(by_stat.get(stat, 0.0), v)
print(", ".join(f"{s.lower()} {v:.1e}" for s, v in by_stat.items()))')
rm -f "$DATA/roll6_check.csv"

# ---- report -----------------------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
ns() { awk -v s="$1" -v t="$TICKS" 'BEGIN {printf "%.0f", s * 1e9 / t}'; }
ns_ms() { awk -v s="$1" -v t="$TICKS" 'BEGIN {printf "%.1f", s * 1e6 / t}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0fx", a / b}'; }
printf '\n### Results (%s ticks)\n\n' "$TICKS"
printf -- '- machine: %s cores (nproc), %s; load average before the run: %s\n' "$THREADS" "$cpu_model" "$load_before"
printf -- '- %s, --threads %s; pandas %s (%s)\n' "$("$TICKFLOW" version | head -n1)" "$THREADS" \
  "$("$PYTHON" -c 'import pandas; print(pandas.__version__)')" "$("$PYTHON" --version 2>&1)"
printf -- '- tickflow: median wall / mean CPU (user + system) of %s runs; pandas: medians of %s runs of the computation only (CPU = process time)\n\n' "$RUNS" "$SLOW_RUNS"
sub() { awk -v a="$1" -v b="$2" 'BEGIN {print a - b}'; }
ep6_cpu=$(sub "$keep6_cpu" "$base_cpu")
ep1_cpu=$(sub "$keep1_cpu" "$base_cpu")
printf '| measurement | 24 columns: wall ns/tick | CPU ns/tick | 4 columns (W=1000): wall ns/tick | CPU ns/tick |\n|---|---:|---:|---:|---:|\n'
printf '| rolling_stats alone: its --stats time (wall) / whole-run CPU minus baseline CPU | %s | %s | %s | %s |\n' \
  "$(ns_ms "$ep6")" "$(ns "$ep6_cpu")" "$(ns_ms "$ep1")" "$(ns "$ep1_cpu")"
printf '| whole run, output dropped (generate -> rolling_stats -> keep PRICE -> /dev/null) | %s | %s | %s | %s |\n' \
  "$(ns "$keep6")" "$(ns "$keep6_cpu")" "$(ns "$keep1")" "$(ns "$keep1_cpu")"
printf '| whole run, all columns written as CSV to /dev/null | %s | %s | %s | %s |\n' \
  "$(ns "$all6")" "$(ns "$all6_cpu")" "$(ns "$all1")" "$(ns "$all1_cpu")"
printf '| baseline: generate -> keep PRICE -> /dev/null, no rolling_stats | %s | %s | %s | %s |\n' \
  "$(ns "$base_wall")" "$(ns "$base_cpu")" "$(ns "$base_wall")" "$(ns "$base_cpu")"
printf '| pandas rolling(W, min_periods=1), same columns, compute only | %s | %s | %s | %s |\n' \
  "$(ns "$pd6")" "$(ns "$pd6_cpu")" "$(ns "$pd1")" "$(ns "$pd1_cpu")"
printf '| **pandas / rolling_stats alone** | **%s** | **%s** | **%s** | **%s** |\n' \
  "$(ratio "$pd6" "$(awk -v m="$ep6" 'BEGIN {print m / 1000}')")" "$(ratio "$pd6_cpu" "$ep6_cpu")" \
  "$(ratio "$pd1" "$(awk -v m="$ep1" 'BEGIN {print m / 1000}')")" "$(ratio "$pd1_cpu" "$ep1_cpu")"
printf '| pandas / whole run with output dropped | %s | %s | %s | %s |\n' \
  "$(ratio "$pd6" "$keep6")" "$(ratio "$pd6_cpu" "$keep6_cpu")" "$(ratio "$pd1" "$keep1")" "$(ratio "$pd1_cpu" "$keep1_cpu")"
printf '\nLargest relative difference between tickflow and pandas over the first %s ticks, per stat: %s.\n' \
  "$CHECK_TICKS" "$check"
