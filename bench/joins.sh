#!/usr/bin/env bash
# Order, time and join benchmarks (issue 5), each beside pandas in the same run:
#   - as-of join of 1M trades against 10M quotes by SYMBOL (10 symbols):
#       join_by_time on: [SYMBOL] over two CSV files (the files pandas reads), and the same
#       join as a symbols run (generate per symbol, join_by_time without keys, no CSV);
#       pandas merge_asof(on=TIMESTAMP, by=SYMBOL);
#   - sort of 10M trades by PRICE descending: order_by [-PRICE]; pandas sort_values(kind='stable');
#   - merge of two 5M-tick streams: merge; pandas concat + sort_values('TIMESTAMP', kind='stable').
# For each: the EP's own time from --stats (median of RUNS runs), the whole run with output
# written as CSV to /dev/null (hyperfine median), and pandas compute-only (median of
# SLOW_RUNS runs; reading the CSV is not timed). Also checks that the keyed as-of join agrees
# with pandas merge_asof on every row.
#
#   bench/joins.sh                 # full size; results printed as Markdown
#   SCALE=10 bench/joins.sh        # every size divided by 10
#
# Environment: BUILD_DIR (default build/, a Release build), SKIP_BUILD=1, SCALE, RUNS (default 5),
# SLOW_RUNS (default 7: pandas' first runs in a process are the slowest). Needs hyperfine
# and /usr/bin/python3 with pandas (scripts/setup.sh --bench).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
DATA="$BENCH/data/joins"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
SCALE=${SCALE:-1}
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-7}
PYTHON=/usr/bin/python3
THREADS=$(nproc)
load_before=$(cut -d" " -f1-3 /proc/loadavg)
SYMBOLS=S0,S1,S2,S3,S4,S5,S6,S7,S8,S9
TRADES_PER_SYMBOL=$((100000 / SCALE))
QUOTES_PER_SYMBOL=$((1000000 / SCALE))
SORT_TICKS=$((10000000 / SCALE))
MERGE_TICKS=$((5000000 / SCALE))

# shellcheck source=bench/common.sh
source "$BENCH/common.sh"
bench_prepare joins
HAVE_MERGE=1
"$TICKFLOW" eps merge >/dev/null 2>&1 || HAVE_MERGE=0

# ---- inputs -----------------------------------------------------------------------------------
TRADES_GEN="{ep: generate, kind: trades, count: $TRADES_PER_SYMBOL, interval: 10ms, seed: 7}"
QUOTES_GEN="{ep: generate, kind: quotes, count: $QUOTES_PER_SYMBOL, interval: 1ms, seed: 8}"
make_csv() { # make_csv FILE GENERATOR [--symbols ... --merge-symbols]
  local file=$1 gen=$2
  shift 2
  [[ -f "$file" ]] && return
  log "writing ${file#"$ROOT"/}"
  printf 'tickflow: 1\nnodes:\n  src: %s\n' "$gen" >"$DATA/make.yaml"
  "$TICKFLOW" run "$DATA/make.yaml" --no-progress --threads "$THREADS" "$@" -o "$file.tmp"
  mv "$file.tmp" "$file"
}
TRADES_CSV="$DATA/trades_sym_$SCALE.csv"
QUOTES_CSV="$DATA/quotes_sym_$SCALE.csv"
SORT_CSV="$DATA/sort_$SCALE.csv"
MERGE_A_CSV="$DATA/merge_a_$SCALE.csv"
MERGE_B_CSV="$DATA/merge_b_$SCALE.csv"
make_csv "$TRADES_CSV" "$TRADES_GEN" --symbols "$SYMBOLS" --merge-symbols
make_csv "$QUOTES_CSV" "$QUOTES_GEN" --symbols "$SYMBOLS" --merge-symbols
SORT_GEN="{ep: generate, kind: trades, count: $SORT_TICKS, interval: 1ms, seed: 42}"
MERGE_A_GEN="{ep: generate, kind: trades, count: $MERGE_TICKS, interval: 1ms, seed: 1}"
MERGE_B_GEN="{ep: generate, kind: trades, count: $MERGE_TICKS, interval: 1ms, seed: 2}"
make_csv "$SORT_CSV" "$SORT_GEN"
make_csv "$MERGE_A_CSV" "$MERGE_A_GEN"
make_csv "$MERGE_B_CSV" "$MERGE_B_GEN"

# ---- graphs -----------------------------------------------------------------------------------
cat >"$DATA/asof_csv.yaml" <<YAML
tickflow: 1
nodes:
  trades: {ep: csv, path: $(basename "$TRADES_CSV"), fields: {SYMBOL: string}}
  quotes: {ep: csv, path: $(basename "$QUOTES_CSV"), fields: {SYMBOL: string}}
  joined: {ep: join_by_time, in: [trades, quotes], on: [SYMBOL]}
  out: {ep: write_csv, in: joined, path: /dev/null}
YAML
cat >"$DATA/asof_symbols.yaml" <<YAML
tickflow: 1
symbols: [$SYMBOLS]
nodes:
  trades: $TRADES_GEN
  quotes: $QUOTES_GEN
  joined: {ep: join_by_time, in: [trades, quotes]}
  out: {ep: write_csv, in: joined, path: /dev/null}
YAML
cat >"$DATA/sort.yaml" <<YAML
tickflow: 1
nodes:
  trades: $SORT_GEN
  joined: {ep: order_by, in: trades, by: [-PRICE]}
  out: {ep: write_csv, in: joined, path: /dev/null}
YAML
cat >"$DATA/sort_baseline.yaml" <<YAML
tickflow: 1
nodes:
  trades: $SORT_GEN
  out: {ep: write_csv, in: trades, path: /dev/null}
YAML
cat >"$DATA/merge.yaml" <<YAML
tickflow: 1
nodes:
  a: $MERGE_A_GEN
  b: $MERGE_B_GEN
  joined: {ep: merge, in: [a, b]}
  out: {ep: write_csv, in: joined, path: /dev/null}
YAML

# ---- measurements -----------------------------------------------------------------------------
median_of() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
stat_of() { # stat_of GRAPH COLUMN: median over RUNS of the 'joined' node's COLUMN in --stats
  for _ in $(seq "$RUNS"); do
    "$TICKFLOW" run "$1" --no-progress --threads "$THREADS" --stats 2>&1 >/dev/null |
      awk -v want="$2" '$1 == "node" {for (i = 1; i <= NF; i++) if ($i == want) c = i} $1 == "joined" {s += $c} END {print s}'
  done | median_of
}
wall_s() { # wall_s NAME GRAPH: hyperfine median in seconds
  hyperfine --shell=none --style basic --runs "$RUNS" --warmup 1 --export-json "$DATA/$1.json" \
    --command-name "$1" "$TICKFLOW run $2 --no-progress --threads $THREADS" >&2
  "$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$DATA/$1.json"
}
pandas_s() { # pandas_s OP FILES...
  "$PYTHON" "$BENCH/pandas_joins.py" "$@" --runs "$SLOW_RUNS" |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["median_s"])'
}

log "as-of join: agreement with pandas merge_asof"
sed 's#path: /dev/null#path: asof_check.csv#' "$DATA/asof_csv.yaml" >"$DATA/asof_check.yaml"
"$TICKFLOW" run "$DATA/asof_check.yaml" --no-progress --threads "$THREADS"
check=$("$PYTHON" "$BENCH/pandas_joins.py" asof "$TRADES_CSV" "$QUOTES_CSV" --check "$DATA/asof_check.csv") ||
  die "tickflow and pandas disagree: $check"
rm -f "$DATA/asof_check.csv"

log "as-of join"
asof_ep=$(stat_of "$DATA/asof_csv.yaml" time_ms)
asof_held=$(stat_of "$DATA/asof_csv.yaml" peak_ticks)
asof_wall=$(wall_s asof_csv "$DATA/asof_csv.yaml")
asof_sym_ep=$(stat_of "$DATA/asof_symbols.yaml" time_ms)
asof_sym_wall=$(wall_s asof_symbols "$DATA/asof_symbols.yaml")
asof_pd=$(pandas_s asof "$TRADES_CSV" "$QUOTES_CSV")
log "sort"
sort_ep=$(stat_of "$DATA/sort.yaml" time_ms)
sort_held=$(stat_of "$DATA/sort.yaml" peak_ticks)
sort_wall=$(wall_s sort "$DATA/sort.yaml")
sort_base=$(wall_s sort_baseline "$DATA/sort_baseline.yaml")
sort_pd=$(pandas_s sort "$SORT_CSV")
if ((HAVE_MERGE)); then
  log "merge"
  merge_ep=$(stat_of "$DATA/merge.yaml" time_ms)
  merge_held=$(stat_of "$DATA/merge.yaml" peak_ticks)
  merge_wall=$(wall_s merge "$DATA/merge.yaml")
  merge_pd=$(pandas_s merge "$MERGE_A_CSV" "$MERGE_B_CSV")
fi

# ---- report -----------------------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
rate() { awk -v s="$1" -v t="$2" 'BEGIN {printf "%.1f", t / s / 1e6}'; }  # M ticks/s
rate_ms() { awk -v m="$1" -v t="$2" 'BEGIN {printf "%.1f", t / (m / 1000) / 1e6}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1fx", a / b}'; }
asof_ticks=$((10 * (TRADES_PER_SYMBOL + QUOTES_PER_SYMBOL)))
merge_ticks=$((2 * MERGE_TICKS))
printf '\n### Results\n\n'
printf -- '- machine: %s cores (nproc), %s; load average before the run: %s\n' "$THREADS" "$cpu_model" "$load_before"
printf -- '- %s, --threads %s; pandas %s (%s)\n' "$("$TICKFLOW" version | head -n1)" "$THREADS" \
  "$("$PYTHON" -c 'import pandas; print(pandas.__version__)')" "$("$PYTHON" --version 2>&1)"
printf -- '- tickflow: median of %s runs; pandas: median of %s runs of the computation only (CSV read not timed)\n' "$RUNS" "$SLOW_RUNS"
printf -- '- keyed as-of join checked against merge_asof on every row: %s\n\n' "$check"
printf '| benchmark (input ticks) | tickflow EP alone (--stats) M ticks/s | tickflow whole run, CSV out to /dev/null, M ticks/s | pandas M ticks/s | EP / pandas | peak ticks held |\n|---|---:|---:|---:|---:|---:|\n'
printf '| as-of join by SYMBOL, 2 CSV inputs (%s) | %s | %s | %s | **%s** | %s |\n' "$asof_ticks" \
  "$(rate_ms "$asof_ep" $asof_ticks)" "$(rate "$asof_wall" $asof_ticks)" "$(rate "$asof_pd" $asof_ticks)" \
  "$(ratio "$asof_pd" "$(awk -v m="$asof_ep" 'BEGIN {print m / 1000}')")" "$asof_held"
printf '| as-of join, symbols run of 10 symbols, generated (%s) | %s | %s | %s | **%s** | |\n' "$asof_ticks" \
  "$(rate_ms "$asof_sym_ep" $asof_ticks)" "$(rate "$asof_sym_wall" $asof_ticks)" "$(rate "$asof_pd" $asof_ticks)" \
  "$(ratio "$asof_pd" "$(awk -v m="$asof_sym_ep" 'BEGIN {print m / 1000}')")"
printf '| order_by [-PRICE] (%s) | %s | %s | %s | **%s** | %s |\n' "$SORT_TICKS" \
  "$(rate_ms "$sort_ep" $SORT_TICKS)" "$(rate "$sort_wall" $SORT_TICKS)" "$(rate "$sort_pd" $SORT_TICKS)" \
  "$(ratio "$sort_pd" "$(awk -v m="$sort_ep" 'BEGIN {print m / 1000}')")" "$sort_held"
if ((HAVE_MERGE)); then
  printf '| merge of two streams (%s) | %s | %s | %s | **%s** | %s |\n' "$merge_ticks" \
    "$(rate_ms "$merge_ep" $merge_ticks)" "$(rate "$merge_wall" $merge_ticks)" "$(rate "$merge_pd" $merge_ticks)" \
    "$(ratio "$merge_pd" "$(awk -v m="$merge_ep" 'BEGIN {print m / 1000}')")" "$merge_held"
else
  printf '| merge | (merge EP not registered in this build) | | | | |\n'
fi
printf '\nWhole-run baseline for the sort: generate -> write_csv /dev/null of the same %s ticks takes %s s (order_by run: %s s).\n' \
  "$SORT_TICKS" "$(printf '%.2f' "$sort_base")" "$(printf '%.2f' "$sort_wall")"
