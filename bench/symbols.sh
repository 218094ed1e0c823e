#!/usr/bin/env bash
# Multi-symbol benchmark: how symbol runs scale over cores, and the per-symbol overhead.
#
#   bench/symbols.sh                      # the full run (a few minutes on 2 cores)
#   SKIP_BUILD=1 BUILD_DIR=build bench/symbols.sh
#
# 1. 8 symbols x 2,000,000 ticks through generate -> add_field -> rolling_stats, output
#    dropped (tail n: 1): median wall time with --threads 1 and --threads N (N = nproc), the
#    speed-up, and ticks/s.
# 2. 500 symbols x 20,000 ticks through the same graph with --threads N: ticks/s, compared
#    with 1 symbol x 10,000,000 ticks (the difference is the per-symbol overhead).
# Output equality across thread counts is checked. Needs hyperfine (scripts/setup.sh --bench).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/bench/data"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
RUNS=${RUNS:-5}
THREADS=$(nproc)
TICKFLOW="$BUILD_DIR/tickflow"
mkdir -p "$DATA"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD_DIR" --target tickflow >/dev/null
fi
command -v hyperfine >/dev/null || { echo "hyperfine not found (scripts/setup.sh --bench)" >&2; exit 1; }

graph() {  # graph COUNT SYMBOLS...
  local count=$1
  shift
  local symbols
  symbols=$(printf '%s, ' "$@")
  cat <<YAML
tickflow: 1
symbols: [${symbols%, }]
nodes:
  trades: {ep: generate, count: $count, seed: 11}
  notional: {ep: add_field, in: trades, set: {NOTIONAL: "PRICE * SIZE"}}
  stats:
    ep: rolling_stats
    in: notional
    fields: [PRICE, NOTIONAL]
    windows: [10, 1000]
    stats: [mean, var, min, max]
  last: {ep: tail, in: stats, n: 1}
YAML
}

graph 2000000 S1 S2 S3 S4 S5 S6 S7 S8 >"$DATA/symbols_8x2M.yaml"
mapfile -t many < <(seq -f "S%03g" 1 500)
graph 20000 "${many[@]}" >"$DATA/symbols_500x20k.yaml"
graph 10000000 ONE >"$DATA/symbols_1x10M.yaml"

"$TICKFLOW" run "$DATA/symbols_8x2M.yaml" --threads 1 --no-progress >"$DATA/sym_t1.csv"
"$TICKFLOW" run "$DATA/symbols_8x2M.yaml" --threads "$THREADS" --no-progress >"$DATA/sym_tn.csv"
cmp -s "$DATA/sym_t1.csv" "$DATA/sym_tn.csv" || { echo "output differs across thread counts" >&2; exit 1; }

hyperfine --warmup 1 --runs "$RUNS" --export-json "$DATA/symbols.json" \
  -n "8x2M threads 1" "$TICKFLOW run $DATA/symbols_8x2M.yaml --threads 1 --no-progress" \
  -n "8x2M threads $THREADS" "$TICKFLOW run $DATA/symbols_8x2M.yaml --threads $THREADS --no-progress" \
  -n "500x20k threads $THREADS" "$TICKFLOW run $DATA/symbols_500x20k.yaml --threads $THREADS --no-progress" \
  -n "1x10M threads $THREADS" "$TICKFLOW run $DATA/symbols_1x10M.yaml --threads $THREADS --no-progress" \
  >/dev/null

/usr/bin/python3 - "$DATA/symbols.json" "$THREADS" <<'PY'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
threads = sys.argv[2]
ticks = {"8x2M": 16_000_000, "500x20k": 10_000_000, "1x10M": 10_000_000}
print(f"cores (nproc): {threads}\n")
print("| run | median wall s | user+sys s | ticks/s | ns/tick |")
print("|---|---:|---:|---:|---:|")
for name, r in results.items():
    n = ticks[name.split()[0]]
    med = r["median"]
    cpu = r["user"] + r["system"]
    print(f"| {name} | {med:.3f} | {cpu:.3f} | {n / med / 1e6:.2f}M | {med / n * 1e9:.1f} |")
one = results["8x2M threads 1"]["median"]
many = results[f"8x2M threads {threads}"]["median"]
print(f"\nspeed-up of --threads {threads} over --threads 1 (8 x 2M): {one / many:.2f}x")
big = results[f"1x10M threads {threads}"]["median"]
small = results[f"500x20k threads {threads}"]["median"]
print(f"500 x 20k vs 1 x 10M (same ticks): {small / big:.2f}x the time "
      f"({(small - big) / 500 * 1e3:.2f} ms per symbol of overhead)")
PY
