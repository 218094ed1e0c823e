#!/usr/bin/env bash
# Engine-foundation benchmark: tick throughput and a CSV round trip against pandas and DuckDB.
#
#   bench/foundation.sh                 # 10M ticks, results printed as a Markdown table
#   TICKS=1000000 bench/foundation.sh   # a quicker run
#
# Measures, on TICKS ticks (default 10,000,000):
#   1. generate -> keep -> write_csv to /dev/null                 (engine + writer, no reading)
#   2. csv -> write_csv round trip, CSV file to CSV file           (tickflow)
#   3. the same round trip with pandas (read_csv with TIMESTAMP parsed as datetime, to_csv)
#   4. the same round trip with DuckDB (COPY (SELECT ... FROM read_csv(...)) TO ...)
# Every measurement is repeated with hyperfine; the table reports the median wall time.
#
# Environment: BUILD_DIR (default build/, must be a Release build), TICKS, RUNS (default 5, for
# the fast commands), SLOW_RUNS (default 3, for pandas), KEEP_OUTPUTS=1 keeps the output files,
# SKIP_BUILD=1 measures the tickflow already built in BUILD_DIR.
# Needs: cmake, ninja, hyperfine, /usr/bin/python3 with pandas (scripts/setup.sh --bench),
# node + npm for DuckDB (installed into bench/node_modules on first use; skipped if that fails).
# Not a test: run it by hand on an otherwise idle machine; see docs/performance.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
DATA="$BENCH/data"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
TICKS=${TICKS:-10000000}
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-3}
THREADS=$(nproc)
PYTHON=/usr/bin/python3
load_before=$(cut -d" " -f1-3 /proc/loadavg)
TICKFLOW="$BUILD_DIR/tickflow"

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'foundation.sh: %s\n' "$*" >&2; exit 1; }

command -v hyperfine >/dev/null || die "hyperfine not found (scripts/setup.sh --bench installs it)"
"$PYTHON" -c 'import pandas' 2>/dev/null || die "$PYTHON cannot import pandas (scripts/setup.sh --bench)"

# ---- 1. Release build -------------------------------------------------------------------------
mkdir -p "$DATA"
if [[ "${SKIP_BUILD:-0}" == 1 ]]; then
  log "SKIP_BUILD=1: using the existing $TICKFLOW"
else
  log "building tickflow (Release) in $BUILD_DIR"
  if [[ -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
    [[ "$build_type" == "Release" ]] ||
      die "$BUILD_DIR is a '$build_type' build; use BUILD_DIR=build-release (it is configured as Release)"
  else
    cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$DATA/build.log" 2>&1 ||
      { cat "$DATA/build.log" >&2; die "cmake configure failed"; }
  fi
  cmake --build "$BUILD_DIR" --target tickflow >"$DATA/build.log" 2>&1 ||
    { tail -n 30 "$DATA/build.log" >&2; die "build failed (SKIP_BUILD=1 uses the existing binary)"; }
fi
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]] ||
  [[ "$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")" != Release ]]; then
  die "$BUILD_DIR is not a Release build"
fi
[[ -x "$TICKFLOW" ]] || die "no tickflow binary at $TICKFLOW"
# Run a private copy, so that a rebuild in $BUILD_DIR during the run cannot change what is measured.
rm -rf "${DATA:?}/bin" && mkdir -p "$DATA/bin"
cp "$TICKFLOW" "$DATA/bin/tickflow"
cp -P "$BUILD_DIR"/libtickflow.so* "$DATA/bin/"
TICKFLOW="$DATA/bin/tickflow"
export LD_LIBRARY_PATH="$DATA/bin${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" # before the RUNPATH
ldd "$TICKFLOW" | grep -q "$DATA/bin/libtickflow" || die "cannot run a private copy of tickflow"

# ---- machine ----------------------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
[[ -n "$cpu_model" ]] || cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
mem_gib=$(awk '/^MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)

# ---- DuckDB (node) ----------------------------------------------------------------------------
duckdb_ok=0
duckdb_note=""
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  duckdb_note="node/npm not found: DuckDB skipped"
elif [[ -d "$BENCH/node_modules/@duckdb/node-api" ]]; then
  duckdb_ok=1
else
  log "installing @duckdb/node-api into bench/node_modules"
  # Not `npm ci`: the lock file lists only the platform binding package of the machine that
  # wrote it, which `npm ci` rejects elsewhere; `npm install` honours the locked versions.
  install_cmd=(npm install --no-audit --no-fund)
  if (cd "$BENCH" && "${install_cmd[@]}" >"$DATA/npm.log" 2>&1); then
    duckdb_ok=1
  else
    duckdb_note="'${install_cmd[*]}' failed in bench/ (log: bench/data/npm.log): DuckDB skipped"
  fi
fi
duckdb_version=""
if ((duckdb_ok)); then
  duckdb_version=$(cd "$BENCH" && node -e \
    "import('@duckdb/node-api').then(m => console.log(m.default.version()))" 2>/dev/null) ||
    { duckdb_ok=0; duckdb_note="@duckdb/node-api does not load: DuckDB skipped"; }
fi
[[ -n "$duckdb_note" ]] && printf 'foundation.sh: %s\n' "$duckdb_note" >&2

# ---- input data -------------------------------------------------------------------------------
INPUT="$DATA/trades_$TICKS.csv"
cat >"$DATA/make_input.yaml" <<EOF
tickflow: 1
description: Benchmark input, $TICKS synthetic trades (TIMESTAMP, PRICE, SIZE, EXCHANGE)
nodes:
  trades: {ep: generate, kind: trades, count: $TICKS, interval: 1ms, seed: 42}
  out: {ep: write_csv, in: trades, path: $(basename "$INPUT")}
EOF
if [[ ! -f "$INPUT" ]] || (($(wc -l <"$INPUT") != TICKS + 1)); then
  log "writing $TICKS ticks to ${INPUT#"$ROOT"/}"
  "$TICKFLOW" run "$DATA/make_input.yaml" --threads "$THREADS"
fi
input_mib=$(($(stat -c %s "$INPUT") / 1048576))

cat >"$DATA/gen_keep_devnull.yaml" <<EOF
tickflow: 1
description: Engine throughput without reading - generate, keep, write CSV to /dev/null
nodes:
  trades: {ep: generate, kind: trades, count: $TICKS, interval: 1ms, seed: 42}
  kept: {ep: keep, in: trades, fields: [PRICE, SIZE]}
  out: {ep: write_csv, in: kept, path: /dev/null}
EOF
cat >"$DATA/csv_roundtrip.yaml" <<EOF
tickflow: 1
description: CSV round trip - read every tick of the input, write it back
nodes:
  trades: {ep: csv, path: $(basename "$INPUT")}
  out: {ep: write_csv, in: trades, path: out_tickflow.csv}
EOF

# ---- measurements -----------------------------------------------------------------------------
# bench NAME RUNS WARMUP COMMAND...: hyperfine without a shell, results in $DATA/NAME.json
names=()
bench() {
  local name=$1 runs=$2 warmup=$3
  shift 3
  log "$name: $*"
  hyperfine --shell=none --style basic --runs "$runs" --warmup "$warmup" \
    --export-json "$DATA/$name.json" --command-name "$name" "$*" >&2
  names+=("$name")
}

bench tickflow_generate_devnull "$RUNS" 1 \
  "$TICKFLOW" run "$DATA/gen_keep_devnull.yaml" --threads "$THREADS"
bench tickflow_csv_roundtrip "$RUNS" 1 \
  "$TICKFLOW" run "$DATA/csv_roundtrip.yaml" --threads "$THREADS"
bench pandas_csv_roundtrip "$SLOW_RUNS" 0 \
  "$PYTHON" "$BENCH/pandas_roundtrip.py" "$INPUT" "$DATA/out_pandas.csv"
bench pandas_csv_roundtrip_no_dates "$SLOW_RUNS" 0 \
  "$PYTHON" "$BENCH/pandas_roundtrip.py" "$INPUT" "$DATA/out_pandas_text.csv" --no-dates
if ((duckdb_ok)); then
  bench duckdb_csv_roundtrip "$RUNS" 1 \
    node "$BENCH/duckdb_roundtrip.mjs" "$INPUT" "$DATA/out_duckdb.csv" "$THREADS" --ns
  bench duckdb_csv_roundtrip_sniffed "$RUNS" 0 \
    node "$BENCH/duckdb_roundtrip.mjs" "$INPUT" "$DATA/out_duckdb_sniffed.csv" "$THREADS" --sniff
fi

# Where tickflow's time goes: per-node times of one more round trip.
log "tickflow --stats of one CSV round trip"
stats=$("$TICKFLOW" run "$DATA/csv_roundtrip.yaml" --threads "$THREADS" --stats 2>&1 >/dev/null)

# ---- checks: all round trips wrote the same ticks ---------------------------------------------
# pandas and DuckDB write whole-number doubles as 502.0 where tickflow (and the input) has 502;
# apart from that every round trip must reproduce its input byte for byte.
check() { # check FILE: "identical", "identical except 502.0" or "DIFFERENT"
  if cmp -s "$INPUT" "$1"; then echo identical
  elif cmp -s "$INPUT" <(sed 's/\.0,/,/' "$1"); then echo "identical except 502.0"
  else echo DIFFERENT; fi
}
checks=()
for out in "$DATA"/out_*.csv; do checks+=("$(basename "$out"): $(check "$out")"); done

# ---- report -----------------------------------------------------------------------------------
json() { "$PYTHON" -c 'import json, sys; r = json.load(open(sys.argv[1]))["results"][0]; print(eval(sys.argv[2], {}, r))' "$DATA/$1.json" "$2"; }
median() { json "$1" median; }
cpu() { json "$1" "user + system"; }
tf_rt=$(median tickflow_csv_roundtrip)
tf_rt_cpu=$(cpu tickflow_csv_roundtrip)

printf '\n## Engine foundation benchmark (%s ticks)\n\n' "$TICKS"
# shellcheck disable=SC2016 # backquotes are Markdown
printf -- '- command: `bench/foundation.sh`%s\n' "$([[ $TICKS != 10000000 ]] && echo " with TICKS=$TICKS")"
printf -- '- machine: %s cores (nproc), %s, %s GiB RAM; load average before the run: %s\n' \
  "$THREADS" "$cpu_model" "$mem_gib" "$load_before"
printf -- '- %s with --threads %s; pandas %s (%s); DuckDB %s (@duckdb/node-api, threads %s)\n' \
  "$("$TICKFLOW" version | head -n1)" "$THREADS" "$("$PYTHON" -c 'import pandas; print(pandas.__version__)')" \
  "$("$PYTHON" --version 2>&1)" "${duckdb_version:-skipped}" "$THREADS"
printf -- '- input: %s, %s MiB, columns TIMESTAMP,PRICE,SIZE,EXCHANGE\n' "${INPUT#"$ROOT"/}" "$input_mib"
printf -- '- median of %s runs (pandas: %s runs); CPU = user + system, mean per run\n\n' "$RUNS" "$SLOW_RUNS"
printf '| benchmark | median wall s | ticks/s | ns/tick | CPU s | tickflow faster by (wall) | (CPU) |\n'
printf '|---|---:|---:|---:|---:|---:|---:|\n'
for name in "${names[@]}"; do
  m=$(median "$name")
  c=$(cpu "$name")
  ratio="— | —"
  [[ "$name" != tickflow_* ]] && ratio=$(awk -v a="$m" -v b="$tf_rt" -v ac="$c" -v bc="$tf_rt_cpu" \
    'BEGIN {printf "%.1fx | %.1fx", a / b, ac / bc}')
  awk -v n="$name" -v m="$m" -v c="$c" -v t="$TICKS" -v r="$ratio" 'BEGIN {
    printf "| %s | %.2f | %.2fM | %.0f | %.2f | %s |\n", n, m, t / m / 1e6, m * 1e9 / t, c, r }'
done
printf '\n"tickflow faster by" = the peer'"'"'s median wall time (mean CPU time) / tickflow_csv_roundtrip'"'"'s.\n\n'
printf 'Outputs compared with the input (the sniffed DuckDB run drops the last 3 digits of times):\n\n'
printf -- '- %s\n' "${checks[@]}"
# shellcheck disable=SC2016
printf '\ntickflow --stats (one CSV round trip):\n\n```\n%s\n```\n' "$stats"

if [[ "${KEEP_OUTPUTS:-0}" != 1 ]]; then
  rm -f "$DATA"/out_*.csv
fi
