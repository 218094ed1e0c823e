#!/usr/bin/env bash
# State variables benchmark: what tick passage costs.
#
#   bench/state.sh                        # builds Release in build/, then measures
#   SKIP_BUILD=1 BUILD_DIR=build RUNS=5 bench/state.sh
#
# 2,000,000 generated trades, one symbol, output dropped (tail n: 1):
#   batch     generate -> add_field (tick-rule SIDE, SIGNED size) -> aggregate (running sum
#             of SIGNED, one tick per trade): the running position without state variables,
#             batches all the way;
#   position  generate -> add_field (SIDE) -> set_state (BOUGHT, SOLD, POSITION) -> add_field
#             (reads them): the same result with state, run tick by tick (graphs/
#             running_position.yaml on more ticks);
#   dedup     generate -> add_field (ID with 200,000 distinct values) -> where (not
#             state.SEEN.has(ID)) -> state_insert into a tick_set.
# The positions of 'batch' and 'position' are checked to be equal. Needs hyperfine
# (scripts/setup.sh --bench).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA="$ROOT/bench/data"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
PYTHON=${PYTHON:-/usr/bin/python3}
RUNS=${RUNS:-5}
N=${N:-2000000}
source "$ROOT/bench/common.sh"
bench_prepare state

SIDE="if(isnan(PRICE[-1]) or PRICE >= PRICE[-1], 'B', 'S')"
cat >"$DATA/state_batch.yaml" <<YAML
tickflow: 1
nodes:
  trades: {ep: generate, count: $N, seed: 11}
  sided: {ep: add_field, in: trades, set: {SIDE: "$SIDE", SIGNED: "if(SIDE == 'B', SIZE, -SIZE)"}}
  running: {ep: aggregate, in: sided, running: true, aggs: {POSITION: sum(SIGNED)}}
  last: {ep: tail, in: running, n: 1}
YAML
cat >"$DATA/state_position.yaml" <<YAML
tickflow: 1
state:
  BOUGHT: {type: int, init: 0}
  SOLD: {type: int, init: 0}
  POSITION: {type: int, init: 0}
nodes:
  trades: {ep: generate, count: $N, seed: 11}
  sided: {ep: add_field, in: trades, set: {SIDE: "$SIDE"}}
  book:
    ep: set_state
    in: sided
    assign:
      BOUGHT: "state.BOUGHT + if(SIDE == 'B', SIZE, 0)"
      SOLD: "state.SOLD + if(SIDE == 'S', SIZE, 0)"
      POSITION: state.BOUGHT - state.SOLD
  position: {ep: add_field, in: book, set: {POSITION: state.POSITION}}
  last: {ep: keep, in: position, fields: [POSITION]}
  one: {ep: tail, in: last, n: 1}
YAML
cat >"$DATA/state_dedup.yaml" <<YAML
tickflow: 1
state:
  SEEN: {type: tick_set, key: [ID], fields: {ID: int}}
nodes:
  trades: {ep: generate, count: $N, seed: 11}
  ids: {ep: add_field, in: trades, set: {ID: "nanos(TIMESTAMP - time('2024-01-02')) % 200003"}}
  fresh: {ep: where, in: ids, if: "not state.SEEN.has(ID)"}
  keep: {ep: state_insert, in: fresh, into: SEEN}
  one: {ep: tail, in: keep, n: 1}
YAML

batch_pos=$("$TICKFLOW" run "$DATA/state_batch.yaml" --no-progress | tail -n 1 | awk -F, '{print $NF}')
state_pos=$("$TICKFLOW" run "$DATA/state_position.yaml" --no-progress | tail -n 1 | awk -F, '{print $NF}')
[[ "$batch_pos" == "$state_pos" ]] || die "positions differ: $batch_pos (batch) vs $state_pos (state)"
"$TICKFLOW" run "$DATA/state_dedup.yaml" --no-progress --stats 2>&1 >/dev/null | tail -n 2 >&2

hyperfine --warmup 1 --runs "$RUNS" --export-json "$DATA/state.json" \
  -n "batch" "$TICKFLOW run $DATA/state_batch.yaml --no-progress" \
  -n "position" "$TICKFLOW run $DATA/state_position.yaml --no-progress" \
  -n "dedup" "$TICKFLOW run $DATA/state_dedup.yaml --no-progress" >/dev/null

"$PYTHON" - "$DATA/state.json" "$N" <<'PY'
import json, os, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
print(f"cores (nproc): {os.cpu_count()}, {n:,} ticks\n")
print("| graph | median wall s | user+sys s | ticks/s | ns/tick |")
print("|---|---:|---:|---:|---:|")
for name, r in results.items():
    med = r["median"]
    print(f"| {name} | {med:.3f} | {r['user'] + r['system']:.3f} | {n / med / 1e6:.2f}M | {med / n * 1e9:.0f} |")
PY
