#!/usr/bin/env bash
# aggregate benchmark: 1-minute OHLCV + VWAP bars per SYMBOL over TICKS trades, beside pandas
# (groupby + resample) on the same data.
#
#   bench/aggregate.sh                   # 10M trades; results printed as Markdown
#   TICKS=1000000 bench/aggregate.sh     # quicker
#
# Data: `generate` trades for SYMBOLS symbols (TICKS / SYMBOLS each, 20ms apart, seed 42),
# written once with --merge-symbols into bench/data/ohlcv_TICKS.csv
# (TIMESTAMP,SYMBOL,PRICE,SIZE,EXCHANGE, time-ordered, symbols interleaved). Both engines read
# that file; SYMBOL is an ordinary field grouped with group_by.
# Measures (tickflow with --threads $(nproc)):
#   - aggregate alone: the node's time from --stats (median of RUNS runs), against pandas'
#     computation alone (after read_csv; median of SLOW_RUNS runs): compute time, no parsing;
#   - the whole run csv -> aggregate -> write_csv (hyperfine, median), against pandas
#     read_csv (TIMESTAMP parsed) + computation: parsing included for both.
# Also checks that both produce the same bars (OPEN/HIGH/LOW/CLOSE/VOLUME/TRADES equal, VWAP
# relative difference printed).
#
# Environment: BUILD_DIR (default build/, a Release build), SKIP_BUILD=1, TICKS, SYMBOLS
# (default 8), RUNS (default 5), SLOW_RUNS (default 3).
# Needs: cmake, ninja, hyperfine, /usr/bin/python3 with pandas (scripts/setup.sh --bench).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
DATA="$BENCH/data"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
TICKS=${TICKS:-10000000}
SYMBOLS=${SYMBOLS:-8}
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-3}
PYTHON=/usr/bin/python3
THREADS=$(nproc)
load_before=$(cut -d" " -f1-3 /proc/loadavg)

# shellcheck source=bench/common.sh
source "$BENCH/common.sh"
bench_prepare aggregate

# ---- input: SYMBOLS symbols of generated trades, merged into one time-ordered CSV --------------
INPUT="$DATA/ohlcv_$TICKS.csv"
symbol_list=$(seq -f 'S%02g' 1 "$SYMBOLS" | paste -sd,)
if [[ ! -f "$INPUT" ]] || (($(wc -l <"$INPUT") != TICKS + 1)); then
  log "writing $TICKS trades of $SYMBOLS symbols to ${INPUT#"$ROOT"/}"
  printf 'tickflow: 1\nnodes:\n  trades: {ep: generate, kind: trades, count: %s, interval: 20ms, seed: 42}\n' \
    $((TICKS / SYMBOLS)) >"$DATA/ohlcv_make_input.yaml"
  "$TICKFLOW" run "$DATA/ohlcv_make_input.yaml" --symbols "$symbol_list" --merge-symbols \
    --format csv -o "$INPUT" --threads "$THREADS"
fi

graph() { # graph FILE OUTPUT_PATH
  cat >"$1" <<YAML
tickflow: 1
nodes:
  trades:
    ep: csv
    path: $INPUT
    fields: {SYMBOL: string, PRICE: double, SIZE: int, EXCHANGE: string}
  bars:
    ep: aggregate
    in: trades
    bucket: 1m
    group_by: [SYMBOL]
    aggs:
      OPEN: first(PRICE)
      HIGH: max(PRICE)
      LOW: min(PRICE)
      CLOSE: last(PRICE)
      VOLUME: sum(SIZE)
      VWAP: vwap(PRICE, SIZE)
      TRADES: count()
  out: {ep: write_csv, in: bars, path: $2}
YAML
}
graph "$DATA/ohlcv_bars.yaml" /dev/null
graph "$DATA/ohlcv_check.yaml" "$DATA/ohlcv_bars_out.csv"
# The same read without aggregate (a where that passes nothing), for the CPU of aggregate alone.
sed '/^  bars:/,/^  out:/c\  bars: {ep: where, in: trades, if: "PRICE < 0"}\n  out: {ep: write_csv, in: bars, path: /dev/null}' \
  "$DATA/ohlcv_bars.yaml" >"$DATA/ohlcv_baseline.yaml"

# ---- measurements -----------------------------------------------------------------------------
median_of() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
node_ms() { # node_ms NODE: median over RUNS of the node's time_ms in --stats
  for _ in $(seq "$RUNS"); do
    "$TICKFLOW" run "$DATA/ohlcv_bars.yaml" --threads "$THREADS" --stats 2>&1 >/dev/null |
      awk -v n="$1" '$1 == "node" {for (i = 1; i <= NF; i++) if ($i == "time_ms") c = i} $1 == n {print $c}'
  done | median_of
}

log "aggregate alone (--stats), $RUNS runs"
agg_ms=$(node_ms bars)
csv_ms=$(node_ms trades)
wall_s() { # wall_s NAME GRAPH: "median-wall-s mean-cpu-s" (hyperfine; CPU = user + system)
  hyperfine --shell=none --style basic --runs "$RUNS" --warmup 1 --export-json "$DATA/$1.json" \
    --command-name "$1" "$TICKFLOW run $2 --threads $THREADS" >&2
  "$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][0]; print(r["median"], r["user"] + r["system"])' "$DATA/$1.json"
}
log "whole runs (hyperfine)"
read -r whole_s whole_cpu <<<"$(wall_s ohlcv_whole "$DATA/ohlcv_bars.yaml")"
read -r base_s base_cpu <<<"$(wall_s ohlcv_baseline "$DATA/ohlcv_baseline.yaml")"
log "pandas, $SLOW_RUNS runs"
pandas_json=$("$PYTHON" "$BENCH/pandas_ohlcv.py" "$INPUT" --runs "$SLOW_RUNS")
read -r pd_read pd_s pd_cpu pd_bars <<<"$(echo "$pandas_json" | "$PYTHON" -c 'import json, sys; d = json.load(sys.stdin); print(d["read_s"], d["median_s"], d["median_cpu_s"], d["bars"])')"

log "agreement with pandas"
"$TICKFLOW" run "$DATA/ohlcv_check.yaml" --threads "$THREADS"
check=$("$PYTHON" "$BENCH/pandas_ohlcv.py" "$INPUT" --check "$DATA/ohlcv_bars_out.csv")
tf_bars=$(($(wc -l <"$DATA/ohlcv_bars_out.csv") - 1))
rm -f "$DATA/ohlcv_bars_out.csv"

# ---- report -----------------------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1fx", a / b}'; }
ns() { awk -v s="$1" -v t="$TICKS" 'BEGIN {printf "%.0f", s * 1e9 / t}'; }
agg_s=$(awk -v m="$agg_ms" 'BEGIN {print m / 1000}')
printf '\n### Results (%s trades, %s symbols)\n\n' "$TICKS" "$SYMBOLS"
printf -- '- machine: %s cores (nproc), %s; load average before the run: %s\n' "$THREADS" "$cpu_model" "$load_before"
printf -- '- %s, --threads %s; pandas %s (%s)\n' "$("$TICKFLOW" version | head -n1)" "$THREADS" \
  "$("$PYTHON" -c 'import pandas; print(pandas.__version__)')" "$("$PYTHON" --version 2>&1)"
printf -- '- tickflow: medians of %s runs; pandas: medians of %s runs; bars: tickflow %s (every minute for every symbol), pandas %s\n\n' \
  "$RUNS" "$SLOW_RUNS" "$tf_bars" "$pd_bars"
printf '| measurement | tickflow s | pandas s | ns/trade tickflow | ns/trade pandas | pandas / tickflow |\n|---|---:|---:|---:|---:|---:|\n'
printf '| compute only, wall: aggregate node (--stats) vs groupby + resample after read_csv | %.3f | %.3f | %s | %s | **%s** |\n' \
  "$agg_s" "$pd_s" "$(ns "$agg_s")" "$(ns "$pd_s")" "$(ratio "$pd_s" "$agg_s")"
agg_cpu=$(awk -v a="$whole_cpu" -v b="$base_cpu" 'BEGIN {print a - b}')
printf '| compute only, CPU: whole-run CPU minus the same run without aggregate, vs pandas process time | %.3f | %.3f | %s | %s | **%s** |\n' \
  "$agg_cpu" "$pd_cpu" "$(ns "$agg_cpu")" "$(ns "$pd_cpu")" "$(ratio "$pd_cpu" "$agg_cpu")"
pd_total=$(awk -v a="$pd_read" -v b="$pd_s" 'BEGIN {print a + b}')
printf '| whole run, CSV parsing included (wall) | %.3f | %.3f | %s | %s | **%s** |\n' \
  "$whole_s" "$pd_total" "$(ns "$whole_s")" "$(ns "$pd_total")" "$(ratio "$pd_total" "$whole_s")"
printf '\ntickflow whole-run CPU (user + system): %.2f s, without aggregate %.2f s; csv source node: %s ms (wall); pandas read_csv: %s s (wall), computation CPU: %s s.\n' \
  "$whole_cpu" "$base_cpu" "$csv_ms" "$pd_read" "$pd_cpu"
printf 'Agreement: %s\n' "$check"
